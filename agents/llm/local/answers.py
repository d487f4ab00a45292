"""Grounded answers and extractive summaries: sentences chosen from the text given, never made up."""

import re

import numpy as np

from agents.llm.embeddings import embed_texts
from agents.llm.local.intents import similarities

SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# Below this the best sentence does not answer the question: say so instead of guessing.
RELEVANT_FROM = 0.18
NOT_FOUND = (
    "I'm sorry, I don't know the answer to that from our help articles. "
    "I can connect you with a person from our team if you like."
)


def sentences(text: str) -> list[str]:
    parts = (part.strip(" -*#\t") for part in SENTENCE.split(text))
    return [part for part in parts if len(part.split()) >= 3]


def grounded_answer(question: str, sources: list[tuple[int, str, str]]) -> tuple[str, list[int]]:
    """An answer made of the sources' sentences that best match the question, citing them.

    Returns the text and the numbers of the sources cited; no sources cited means "I don't know".
    """
    candidates = [(number, sentence) for number, _, text in sources for sentence in sentences(text)]
    if not candidates or not question.strip():
        return NOT_FOUND, []
    scores = similarities(question, [sentence for _, sentence in candidates])
    best = int(scores.argmax())
    if scores[best] < RELEVANT_FROM:
        return NOT_FOUND, []
    number = candidates[best][0]
    # The best sentence and its neighbour from the same source usually carry the whole answer.
    chosen = [best]
    follower = best + 1
    if follower < len(candidates) and candidates[follower][0] == number and scores[follower] > RELEVANT_FROM / 2:
        chosen.append(follower)
    text = " ".join(candidates[index][1] for index in chosen)
    return f"{text} [{number}]", [number]


def extractive_summary(transcript: str, limit: int = 3) -> str:
    """The `limit` most central lines of a transcript, in their original order."""
    lines = [line.strip() for line in transcript.splitlines() if len(line.split()) >= 3]
    if len(lines) <= limit:
        return " ".join(lines)
    vectors = embed_texts(lines)
    centrality = vectors @ vectors.mean(axis=0)
    # The customer's first request always leads: it is what the human must solve.
    keep = sorted({0, *np.argsort(centrality)[::-1][: limit - 1].tolist()})
    return " ".join(lines[index] for index in keep[:limit])
