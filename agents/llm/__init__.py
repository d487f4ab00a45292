"""The one LLM gateway: every model call of the console goes through this package."""

from agents.llm.embeddings import EMBEDDING_MODEL, embed_texts

__all__ = ["EMBEDDING_MODEL", "embed_texts"]
