"""Plain-text normalisation shared by the guardrails: lower case, no accents, single spaces."""

import re
import unicodedata


def folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"\s+", " ", plain).strip()
