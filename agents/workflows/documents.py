"""A submitted document's text, page by page: PDF through pypdf (each page its own), text and
markdown as they are (a form feed starts a page, as text exported from PDFs has), HTML without
its markup. A text with no form feeds is cut into pages of about PAGE_CHARS characters at
paragraph breaks."""

import hashlib
import io
import re
from html.parser import HTMLParser

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from agents.workflows.services import DocumentText

PAGE_CHARS = 3000
TYPES = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html",
         ".pdf": "pdf"}  # fmt: skip


class DocumentUnreadable(ValueError):
    """The file cannot be analysed; the message says why, for the caller."""


def type_of(file_name: str) -> str:
    suffix = "." + file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if suffix not in TYPES:
        raise DocumentUnreadable("Only .txt, .md, .html and .pdf files can be analysed.")
    return TYPES[suffix]


def document_text(data: bytes, *, file_name: str = "", content_type: str = "txt") -> DocumentText:
    if content_type == "pdf":
        pages = _pdf_pages(data)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DocumentUnreadable("The file is not UTF-8 text.") from None
        pages = paginate(_html_text(text) if content_type == "html" else text)
    pages = [page.replace("\x00", "") for page in pages]
    if not any(page.strip() for page in pages):
        raise DocumentUnreadable("The document has no text to analyse (a scanned PDF needs OCR first).")
    return DocumentText("\f".join(pages), len(pages), content_type, file_name[:300], len(data),
                        hashlib.sha256(data).hexdigest())  # fmt: skip


def paginate(text: str) -> list[str]:
    text = text.replace("\r\n", "\n")
    if "\f" in text:
        return text.split("\f")
    pages, current = [], ""
    for paragraph in re.split(r"\n\s*\n", text):
        if current and len(current) + len(paragraph) > PAGE_CHARS:
            pages.append(current)
            current = ""
        current = f"{current}\n\n{paragraph}" if current else paragraph
    return [*pages, current]


def _pdf_pages(data: bytes) -> list[str]:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentUnreadable("The PDF is encrypted: send it without a password.")
        return [page.extract_text() or "" for page in reader.pages]
    except DocumentUnreadable:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as error:
        raise DocumentUnreadable(f"The PDF cannot be read ({type(error).__name__}).") from None


class _TextOnly(HTMLParser):
    SKIPPED = {"script", "style", "head"}
    BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        self.skipping += tag in self.SKIPPED
        if tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        self.skipping -= tag in self.SKIPPED and self.skipping > 0

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def _html_text(html: str) -> str:
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+", " ", "".join(parser.parts))).strip()
