"""Intent classification by the nearest labelled examples (`IntentExample` rows)."""

import re

import numpy as np

from agents.llm.embeddings import embed_texts

UNKNOWN = "unknown"
WORD = re.compile(r"[a-z0-9']+")
# How much of the similarity comes from shared words: static embeddings alone blur short texts.
LEXICAL_WEIGHT = 0.35
# A message whose best match is below this similarity is unlike every example.
FAMILIAR_FROM, FAMILIAR_AT = 0.12, 0.45
NEIGHBOURS = 2

_vectors: dict[str, np.ndarray] = {}


def _words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def _vectors_of(texts: list[str]) -> np.ndarray:
    missing = [text for text in set(texts) if text not in _vectors]
    for text, vector in zip(missing, embed_texts(missing), strict=True):
        _vectors[text] = vector
    return np.stack([_vectors[text] for text in texts])


def similarities(text: str, examples: list[str]) -> np.ndarray:
    semantic = _vectors_of(examples) @ embed_texts([text])[0]
    words = _words(text)
    lexical = np.array([len(words & _words(e)) / (len(words | _words(e)) or 1) for e in examples])
    return (1 - LEXICAL_WEIGHT) * semantic + LEXICAL_WEIGHT * lexical


def classify(text: str, examples: list[tuple[str, str]]) -> tuple[str, float]:
    """(intent, confidence in 0..1) for `text`, given (intent, example text) pairs.

    The confidence is the share of the best intent among all intents' scores, scaled down
    when even the closest example is unlike the message, so gibberish gets a low confidence.
    """
    if not examples or not text.strip():
        return UNKNOWN, 0.0
    labels = np.array([intent for intent, _ in examples])
    scores = similarities(text, [example for _, example in examples])
    intents = sorted(set(labels))
    per_intent = np.array([np.sort(scores[labels == intent])[-NEIGHBOURS:].mean() for intent in intents])
    shares = np.exp(per_intent / 0.05)
    shares /= shares.sum()
    best = int(per_intent.argmax())
    familiarity = float(np.clip((scores.max() - FAMILIAR_FROM) / (FAMILIAR_AT - FAMILIAR_FROM), 0, 1))
    return intents[best], round(float(shares[best]) * familiarity, 3)
