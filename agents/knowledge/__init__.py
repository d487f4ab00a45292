"""The knowledge base: documents, their chunks (pgvector + full text), and hybrid search."""
