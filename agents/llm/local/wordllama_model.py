"""WordLlama: a small static-embedding model whose weights ship inside its wheel (no download)."""

import functools
from pathlib import Path

import numpy as np

DIMENSIONS = 256


@functools.cache
def model():
    import wordllama
    from wordllama import WordLlama

    return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True, dim=DIMENSIONS)


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length 256-dimensional vectors, one row per text (cosine similarity = dot product)."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors = np.asarray(model().embed(texts, norm=True), dtype=np.float32)
    return vectors
