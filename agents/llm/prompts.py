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
    system = (
        f"{TASK_LINE.format(task=ANSWER)}\n{instructions}\n"
        "Answer the customer using only the sources below and cite them as [n]. "
        "If they do not contain the answer, say you do not know.\n\nSources:\n"
        f"{sources or '(none)'}"
    )
    return [{"role": "system", "content": system}, *(history or []), {"role": "user", "content": question}]


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
