"""The prompts the console sends, shared by the gateway (which builds them) and the local model
(which reads them back). A real model reads them as plain instructions; the local model
recognises the task line and the numbered sources."""

import json
import re

TASK_LINE = "Task: {task}."
TASK_PATTERN = re.compile(r"^Task: (\w+)\.", re.MULTILINE)
SOURCE_PATTERN = re.compile(r"^\[(\d+)\] (.+?)\n(.*?)(?=^\[\d+\] |\Z)", re.MULTILINE | re.DOTALL)

CLASSIFY = "classify"
ANSWER = "answer"
SUMMARIZE = "summarize"


def classify_messages(text: str, examples: list[tuple[str, str]], passages: list = ()) -> list[dict]:
    """`examples` are (intent, customer message) pairs: few-shot for a real model, the whole
    training set for the local one. `passages` (as for `answer_messages`) are what the help
    articles say about the message: a question they answer well is one the AI can take."""
    intents = sorted({intent for intent, _ in examples})
    labelled = "\n".join(f"{intent}: {example}" for intent, example in examples)
    system = (
        f"{TASK_LINE.format(task=CLASSIFY)}\n"
        f"Classify the customer's message into one of these intents: {', '.join(intents)}. "
        "The confidence says how sure you are that the AI can take the message: high when the help "
        "articles below answer it. "
        'Reply with JSON only: {"intent": "<intent>", "confidence": <0..1>}.\n\n'
        f"Examples:\n{labelled}\n\nSources:\n{_numbered(passages) or '(none)'}"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]


def examples_of(messages: list[dict]) -> list[tuple[str, str]]:
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    body = system.split("Examples:\n", 1)[1] if "Examples:\n" in system else ""
    body = body.split("\n\nSources:\n", 1)[0]
    pairs = (line.split(": ", 1) for line in body.splitlines() if ": " in line)
    return [(intent.strip(), example.strip()) for intent, example in pairs]


def _numbered(passages: list) -> str:
    return "\n\n".join(
        f"[{number}] {passage.document_title}{' — ' + passage.heading if passage.heading else ''}\n{passage.text}"
        for number, passage in enumerate(passages, start=1)
    )


def answer_messages(
    question: str, passages: list, history: list[dict] | None = None, instructions: str = ""
) -> list[dict]:
    """`passages` have .document_title, .heading and .text (the knowledge base's Passage)."""
    sources = _numbered(passages)
    asked = questions_in(question)
    several = (
        "The customer asked several things: answer each of them in one reply, and say which of them "
        "the sources do not answer:\n" + "\n".join(f"{number}. {text}" for number, text in enumerate(asked, 1)) + "\n"
        if len(asked) > 1
        else ""
    )
    system = (
        f"{TASK_LINE.format(task=ANSWER)}\n{instructions}\n"
        "Answer the customer using only the sources below and cite them as [n]. "
        f"If they do not contain the answer, say you do not know.\n{several}\nSources:\n"
        f"{sources or '(none)'}"
    )
    return [{"role": "system", "content": system}, *(history or []), {"role": "user", "content": question}]


# The questions of one turn. Several messages folded into a turn are joined by newlines ("What is
# your return policy?\nand shipping?\nPayPal?"), and one message may ask two things ("How long is
# a gift card valid? And can I pay with PayPal?"). A line that asks nothing ("ok", "thanks") is
# left out; a statement ("My parcel arrived broken") is the context of the question after it.
QUESTION_BREAK = re.compile(r"\n+|(?<=\?)\s+")
QUESTION_START = re.compile(
    r"^\W*(?:and|also|or|plus|what|which|how|when|where|who|why|can|could|do|does|did|is|are|will|would|"
    r"should|may|und|auch|was|welche\w*|wie|wann|wo|wer|warum|kann|können|gibt|ist|sind|et|aussi|quel\w*|"
    r"comment|quand|o[uù]|qui|pourquoi|puis|pouvez|est-ce|y|también|qu[eé]|cu[aá]l\w*|c[oó]mo|cu[aá]ndo|"
    r"d[oó]nde|qui[eé]n|por qu[eé]|puedo|pueden|hay|¿)",
    re.I,
)
# "…, and how much does it cost?": a second question joined to the first.
JOINED_QUESTION = re.compile(
    r",?\s{1,5}(?:and|und|et|y)\s{1,5}(?=(?:how|what|when|where|which|can|do|does|is|are|wie|was|wann|wo|kann|comment|"
    r"quand|combien|quel\w*|c[oó]mo|cu[aá]nto|cu[aá]ndo|d[oó]nde|puedo)\b)",
    re.I,
)
FILLER = re.compile(
    r"^\W*+(?:ok(?:ay)?|also|and|so|hi|hello|hey|hallo|hola|bonjour|thanks?|thank you|thx|danke|merci|gracias|"
    r"yes|no|ja|nein|oui|non|s[ií]|please|bitte|hmm+|well)?\W*+$",
    re.I,
)
MOST_QUESTIONS = 4


def questions_in(text: str) -> list[str]:
    """The distinct questions of a customer's turn, in order (the whole text when it asks one)."""
    pieces = [piece.strip() for piece in QUESTION_BREAK.split(text) if not FILLER.match(piece)]
    questions: list[str] = []
    context = ""
    for piece in pieces:
        if piece.endswith("?") or QUESTION_START.match(piece):
            questions.extend(part for part in JOINED_QUESTION.split(f"{context} {piece}".strip()) if part.strip())
            context = ""
        else:
            context = f"{context} {piece}".strip()
    if context:
        # A statement after the last question belongs with it ("PayPal?\nfor an order to Spain").
        questions = [*questions[:-1], f"{questions[-1]} {context}"] if questions else [context]
    distinct = list(dict.fromkeys(question.strip() for question in questions if question.strip()))
    if len(distinct) > MOST_QUESTIONS:
        return [text.strip()]
    return distinct or [text.strip()]


# What the answer node asks for: the decision to hand over is its own field, never a phrase
# the code would have to spot in the reply.
ACTION_FORMAT = (
    'Reply with JSON only: {"action": "reply" or "handover", "reply": "<your message to the customer, '
    'citing sources as [n]>", "reason": "<for handover: why a person should take over>"}. '
    "Choose handover when the sources do not answer the question, when the customer needs something you "
    "cannot do with your tools, or when a person would clearly serve them better."
)


def summarize_messages(transcript: list[tuple[str, str]]) -> list[dict]:
    lines = "\n".join(f"{speaker}: {text}" for speaker, text in transcript)
    system = (
        f"{TASK_LINE.format(task=SUMMARIZE)}\n"
        "Summarise this support conversation for the human agent taking over, in at most three sentences."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": lines}]


def task_of(messages: list[dict]) -> str | None:
    for message in messages:
        if message.get("role") == "system":
            found = TASK_PATTERN.search(message.get("content") or "")
            if found:
                return found.group(1)
    return None


def sources_of(messages: list[dict]) -> list[tuple[int, str, str]]:
    """(number, title line, text) of each numbered source in the system prompt."""
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    body = system.split("Sources:\n", 1)[1] if "Sources:\n" in system else ""
    return [(int(number), title.strip(), text.strip()) for number, title, text in SOURCE_PATTERN.findall(body)]


def user_texts(messages: list[dict]) -> list[str]:
    return [m["content"] for m in messages if m.get("role") == "user" and isinstance(m.get("content"), str)]


def last_user_text(messages: list[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""
