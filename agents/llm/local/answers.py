"""Grounded answers and extractive summaries: sentences chosen from the text given, never made up."""

import re

import numpy as np

from agents.llm.embeddings import embed_texts
from agents.llm.local.intents import similarities

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
REFERS_BACK = re.compile(r"^(?:These|This|Those|That|They|It|Such)\b")
# Below this the best sentence does not answer the question: say so instead of guessing.
RELEVANT_FROM = 0.18
NOT_FOUND = (
    "I'm sorry, I don't know the answer to that from our help articles. "
    "I can connect you with a person from our team if you like."
)


def sentences(text: str) -> list[str]:
    """The text's sentences. Wrapped lines are joined; a list stays one unit with the line
    that introduces it, since "We accept:" alone answers nothing."""
    units: list[str] = []
    for block in PARAGRAPH_BREAK.split(text):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if lines and LIST_ITEM.match(lines[0]):
            items = " ".join(LIST_ITEM.sub("", line) for line in lines)
            if units and units[-1].endswith(":"):
                units[-1] = f"{units[-1]} {items}"
            else:
                units.append(items)
        elif lines:
            units.extend(SENTENCE_END.split(" ".join(lines).lstrip("# ")))
    return [unit.strip(" \t") for unit in units if len(unit.split()) >= 3]


def best_support(question: str, sources: list[tuple[int, str, str]]) -> float:
    """How well the best sentence of the sources matches the question (0 without sources)."""
    candidates = [sentence for _, _, text in sources for sentence in sentences(text)]
    if not candidates or not question.strip():
        return 0.0
    return float(similarities(question, candidates).max())


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
    # The best sentence and its neighbour from the same source usually carry the whole answer;
    # one that points back ("These are…") needs the sentence before it.
    chosen = [best]
    if best > 0 and candidates[best - 1][0] == number and REFERS_BACK.match(candidates[best][1]):
        chosen.insert(0, best - 1)
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


# Small talk: a greeting or a thank-you needs a kind word, not a help article.
SMALLTALK = [
    (re.compile(r"\b(?:bye|goodbye|see you|tsch(?:ue|ü)ss|ciao|au revoir|adi(?:o|ó)s)\b", re.I),
     "You're welcome! Have a lovely day, and write again any time."),
    (re.compile(r"\b(?:thanks?|thank you|thx|ty|danke|merci|gracias|grazie|cheers|great|perfect|cool)\b", re.I),
     "You're welcome! Is there anything else I can help you with?"),
    (re.compile(r"\bhow are you\b|\bwie geht'?s\b|\bcomment (?:ça|ca) va\b|\bqu(?:é|e) tal\b", re.I),
     "I'm doing well, thank you! How can I help you today?"),
    (re.compile(r"^(?:hi|hello|hey|hallo|hola|bonjour|salut|servus|moin|good (?:morning|afternoon|evening)"
                r"|guten (?:morgen|tag|abend)|buenos d(?:i|í)as)\b", re.I),
     "Hello! How can I help you today?"),
]  # fmt: skip
SMALLTALK_WORDS = 6


def smalltalk_reply(text: str) -> str | None:
    """A reply to a short greeting, thank-you or goodbye; None for anything with a request in it."""
    if len(text.split()) > SMALLTALK_WORDS or re.search(r"\d", text):
        return None
    for pattern, reply in SMALLTALK:
        # "Thanks! Where is it?" asks something; only "how are you?" is a question of small talk.
        if pattern.search(text.strip()) and ("?" not in text or reply.startswith("I'm doing well")):
            return reply
    return None
