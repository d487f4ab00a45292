"""The admin's home: what the AI costs, where it fails, how people keep up (read from rollups)."""
