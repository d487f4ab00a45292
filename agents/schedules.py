"""The agents app's periodic tasks (installed by hilconsole.schedules)."""

SCHEDULES = {
    "Resume stalled AI turns": ("agents.resume_stalled_turns", 30),
    "Resume stalled workflows": ("agents.resume_stalled_workflows", 30),
}
