"""Heading-aware chunking: a pure function from a document's text to its chunks.

Each chunk belongs to one section and carries that section's heading path ("Returns › How to
return"), so a passage found on its own still says what it is about. A section longer than a
chunk is split at paragraph, then sentence, then word boundaries, and each of its chunks starts
with the end of the previous one (the overlap), so a sentence cut from its context at a chunk
border still appears whole next to it.
"""

import re
from dataclasses import dataclass

MAX_CHARS = 1000
OVERLAP_CHARS = 200
HEADING_SEPARATOR = " › "
HEADING_MAX_CHARS = 300  # KnowledgeChunk.heading

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^(```|~~~)")
_LINE_END = re.compile(r"\n")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True)
class Chunk:
    position: int
    heading: str
    text: str


@dataclass(frozen=True)
class _Section:
    path: tuple[str, ...]
    body: str


def chunk_text(
    text: str, *, title: str, headings: bool = True, max_chars: int = MAX_CHARS, overlap_chars: int = OVERLAP_CHARS
) -> list[Chunk]:
    """The chunks of `text`; `headings=False` reads it as plain text, where `#` means nothing."""
    if overlap_chars >= max_chars:
        raise ValueError("The overlap must be shorter than a chunk.")
    sections = _sections(text) if headings else [_Section((), text)]
    chunks = []
    for section in sections:
        heading = HEADING_SEPARATOR.join(section.path) or title
        for piece in _pack(_pieces(section.body, max_chars), max_chars, overlap_chars):
            chunks.append(Chunk(position=len(chunks), heading=heading[:HEADING_MAX_CHARS], text=piece))
    return chunks


def _sections(text: str) -> list[_Section]:
    """Split markdown at its ATX headings (`## Title`); fenced code never holds a heading."""
    sections, path, lines, fenced = [], [], [], False
    for line in text.split("\n"):
        fenced ^= bool(_FENCE.match(line.strip()))
        heading = None if fenced else _HEADING.match(line)
        if heading is None:
            lines.append(line)
            continue
        sections.append(_Section(tuple(title for _, title in path), "\n".join(lines)))
        level = len(heading.group(1))
        path = [(upper, title) for upper, title in path if upper < level] + [(level, heading.group(2).strip())]
        lines = []
    sections.append(_Section(tuple(title for _, title in path), "\n".join(lines)))
    return [section for section in sections if section.body.strip()]


def _pieces(body: str, max_chars: int) -> list[tuple[str, str]]:
    """(separator before it, text) units no longer than a chunk, in order."""
    return [piece for paragraph in re.split(r"\n[ \t]*\n", body) for piece in _split(paragraph, max_chars, "\n\n")]


def _split(text: str, max_chars: int, separator: str) -> list[tuple[str, str]]:
    """The text whole if it fits, else its lines, else its sentences, else its words."""
    text = text.strip()
    if len(text) <= max_chars:
        return [(separator, text)] if text else []
    for boundary, joiner in ((_LINE_END, "\n"), (_SENTENCE_END, " ")):
        parts = boundary.split(text)
        if len(parts) > 1:
            pieces = [piece for part in parts for piece in _split(part, max_chars, joiner)]
            return [(separator, pieces[0][1]), *pieces[1:]]
    return [(separator if index == 0 else " ", part) for index, part in enumerate(_words(text, max_chars))]


def _words(text: str, max_chars: int) -> list[str]:
    """Text cut at word boundaries into parts no longer than a chunk (a longer word is cut too)."""
    parts, current = [], ""
    for word in text.split():
        for cut in (word[start : start + max_chars] for start in range(0, len(word), max_chars)):
            if current and len(current) + 1 + len(cut) > max_chars:
                parts, current = [*parts, current], cut
            else:
                current = f"{current} {cut}" if current else cut
    return parts + ([current] if current else [])


def _pack(pieces: list[tuple[str, str]], max_chars: int, overlap_chars: int) -> list[str]:
    chunks, current = [], []
    for piece in pieces:
        if current and _length(current + [piece]) > max_chars:
            chunks.append(_join(current))
            current = _tail(current, overlap_chars)
            if _length(current + [piece]) > max_chars:
                current = []
        current.append(piece)
    return chunks + ([_join(current)] if current else [])


def _tail(pieces: list[tuple[str, str]], overlap_chars: int) -> list[tuple[str, str]]:
    """The end of a chunk that the next one repeats: whole pieces if they fit, else its last words."""
    tail = []
    for piece in reversed(pieces):
        if _length([piece, *tail]) > overlap_chars:
            break
        tail.insert(0, piece)
    if tail:
        return tail
    words = []
    for word in reversed(pieces[-1][1].split()):
        if len(" ".join([word, *words])) > overlap_chars:
            break
        words.insert(0, word)
    return [("", " ".join(words))] if words else []


def _join(pieces: list[tuple[str, str]]) -> str:
    return "".join(separator + text for separator, text in pieces).strip()


def _length(pieces: list[tuple[str, str]]) -> int:
    return len(_join(pieces))
