"""From what an admin pasted or uploaded to the text the chunker reads.

Markdown is kept as it is. HTML becomes markdown-like text: its headings turn into `#` lines,
so that chunks know which section they come from, and block elements into paragraphs.
"""

import re
from html.parser import HTMLParser
from pathlib import PurePath

from django.conf import settings

from agents.models import KnowledgeDocument

Format = KnowledgeDocument.Format

FORMAT_OF_SUFFIX = {
    ".md": Format.MARKDOWN,
    ".markdown": Format.MARKDOWN,
    ".html": Format.HTML,
    ".htm": Format.HTML,
    ".txt": Format.TEXT,
    ".text": Format.TEXT,
}


class KnowledgeFileRefused(ValueError):
    """An upload the knowledge base cannot read; the message tells the admin why."""


def read_upload(upload) -> tuple[str, str]:
    """The text of an uploaded file and its format, told by the file name's suffix."""
    suffix = PurePath(upload.name).suffix.lower()
    if suffix not in FORMAT_OF_SUFFIX:
        raise KnowledgeFileRefused(f"Upload a .md, .html or .txt file ({upload.name} is none of these).")
    if upload.size > settings.UPLOAD_MAX_BYTES:
        raise KnowledgeFileRefused(f"The file is larger than {settings.UPLOAD_MAX_BYTES / (1024 * 1024):g} MB.")
    upload.seek(0)
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise KnowledgeFileRefused("The file is not UTF-8 text.")
    upload.seek(0)
    return text, FORMAT_OF_SUFFIX[suffix]


def extract_text(body: str, format: str) -> str:
    """Plain or markdown text; HTML is converted with its headings kept as `#` lines."""
    text = html_to_text(body) if format == Format.HTML else body
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def html_to_text(html: str) -> str:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    return parser.text()


class _HTMLText(HTMLParser):
    HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
    BLOCKS = {
        "p", "div", "section", "article", "main", "header", "footer", "aside", "blockquote", "pre",
        "ul", "ol", "dl", "dt", "dd", "table", "tr", "figure", "figcaption", "hr", "address", "details", "summary",
    }  # fmt: skip
    # Never text a customer should be answered with.
    SKIPPED = {"script", "style", "noscript", "template", "svg", "head", "iframe", "object"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.heading: list[str] | None = None  # the words of the heading being read
        self.skipping = 0
        self.preformatted = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.HEADINGS:
            self.heading = []
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")
        self.preformatted += tag == "pre"

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.HEADINGS and self.heading is not None:
            words = " ".join("".join(self.heading).split())
            self.parts.append(f"\n\n{'#' * self.HEADINGS[tag]} {words}\n\n" if words else "\n\n")
            self.heading = None
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")
        self.preformatted -= tag == "pre" and self.preformatted > 0

    def handle_data(self, data):
        if self.skipping:
            return
        if self.heading is not None:
            self.heading.append(data)
        else:
            self.parts.append(data if self.preformatted else re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = "\n".join(line.strip() for line in "".join(self.parts).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", lines).strip()
