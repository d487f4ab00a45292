"""Text embeddings for the knowledge base and the local model's intent examples."""

import numpy as np

from agents.llm.local import wordllama_model

# Stored with every chunk, so that changing the model is noticed and everything re-embedded.
EMBEDDING_MODEL = f"local/wordllama-l2-supercat-{wordllama_model.DIMENSIONS}"


def embed_texts(texts: list[str]) -> np.ndarray:
    """One unit-length row per text, in `EMBEDDING_MODEL`'s space."""
    return wordllama_model.embed(list(texts))
