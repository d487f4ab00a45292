"""Redaction of personal data from what is sent to a model outside this machine.

Each finding becomes a placeholder (`[EMAIL_1]`); the same value always gets the same one, so
a model can still refer to it, and `restore()` puts the real values back into what the model
returns (a reply, a tool call's arguments) before anyone sees or uses it.
"""

import ipaddress
import re
from dataclasses import dataclass, field

DATE = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}"
    r"|\d{1,2}\.?\s{1,3}[A-Za-zéûä]{3,10}\.?\s{1,3}\d{4}|[A-Za-z]{3,9}\.?\s{1,3}\d{1,2},?\s{1,3}\d{4})"
)
BIRTH_CUE = (
    r"(?:born(?:\s{1,3}on)?|birthday(?:\s{1,3}is)?|date\s{1,3}of\s{1,3}birth(?:\s{1,3}is)?|d\.?o\.?b\.?"
    r"|geboren(?:\s{1,3}am)?|geburtsdatum|n[ée]e?\s{1,3}le|date\s{1,3}de\s{1,3}naissance|nacid[oa](?:\s{1,3}el)?"
    r"|fecha\s{1,3}de\s{1,3}nacimiento)"
)
# In the order they are looked for: a card number must not be taken for a phone number.
# Every repetition is bounded and every pattern that could start anywhere inside a long run of
# the characters it takes is anchored by a look-behind, so a pattern costs a bounded number of
# steps per position: linear time on any text (an unbounded email pattern took 6 s on 50 kB).
PATTERNS: list[tuple[str, re.Pattern]] = [
    ("EMAIL", re.compile(r"(?<![\w.+-])[\w.+-]{1,254}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")),
    ("IBAN", re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")),
    ("CARD", re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")),
    (
        "NATIONAL_ID",
        re.compile(
            r"\b\d{3}-\d{2}-\d{4}\b"  # US social security number
            r"|\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"  # UK national insurance number
            r"|\b[XYZ]?\d{7,8}-?[A-HJ-NP-TV-Z]\b"  # Spanish DNI / NIE
            r"|\b[12] ?\d{2} ?\d{2} ?(?:\d{2}|2A|2B) ?\d{3} ?\d{3} ?\d{2}\b"  # French social security number
            r"|\b[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]\b"  # Italian codice fiscale
        ),
    ),  # fmt: skip
    ("DATE_OF_BIRTH", re.compile(rf"\b{BIRTH_CUE}[\s:,]{{0,5}}({DATE})", re.IGNORECASE)),
    ("IP", re.compile(r"(?<![\w.:])(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?![\w.:])")),
    ("PHONE", re.compile(r"(?<![\w+])(?:\+|00)?\d[\d ().-]{6,24}\d(?!\w)")),
]
# Every pattern above needs a digit, an "@" or a ":" (IPv6) to match: a text with none of them
# holds nothing to redact, which one search tells far quicker than the patterns' passes.
MAY_HOLD = re.compile(r"[\d@:]")
PLACEHOLDER = re.compile(r"\[(?:EMAIL|IBAN|CARD|NATIONAL_ID|DATE_OF_BIRTH|IP|PHONE)_\d+\]")


@dataclass
class Redaction:
    text: str
    # placeholder → the value it stands for
    values: dict[str, str] = field(default_factory=dict)

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for placeholder in self.values:
            kind = placeholder[1:].rsplit("_", 1)[0]
            counts[kind] = counts.get(kind, 0) + 1
        return counts


def redact(text: str, values: dict[str, str] | None = None) -> Redaction:
    """`text` with personal data replaced; `values` carries placeholders from earlier texts of
    the same turn, so one value keeps one placeholder across the history."""
    redaction = Redaction(text, dict(values or {}))
    if not MAY_HOLD.search(text):
        return redaction
    by_value = {value: placeholder for placeholder, value in redaction.values.items()}
    # Placeholders numbered so far per kind, kept as we go: counting them again for every new
    # value would make a text with thousands of addresses quadratic.
    counts = redaction.kinds()
    # Look-alikes already found not to be personal data (a checksum failed): not checked again.
    rejected: set[tuple[str, str]] = set()
    for kind, pattern in PATTERNS:
        redaction.text = pattern.sub(
            lambda match, kind=kind: _replace(match, kind, redaction.values, by_value, counts, rejected),
            redaction.text,
        )
    return redaction


def _replace(match: re.Match, kind: str, values: dict, by_value: dict, counts: dict, rejected: set) -> str:
    found = match.group(match.lastindex or 0)
    placeholder = by_value.get(found)
    if placeholder is None and ((kind, found) in rejected or not _is_real(kind, found)):
        rejected.add((kind, found))
        return match.group(0)
    if placeholder is None:
        counts[kind] = counts.get(kind, 0) + 1
        placeholder = by_value[found] = f"[{kind}_{counts[kind]}]"
        values[placeholder] = found
    # Keep what the pattern matched around the value (the gap after "born on").
    return match.group(0).replace(found, placeholder)


def _is_real(kind: str, found: str) -> bool:
    digits = re.sub(r"\D", "", found)
    if kind == "CARD":
        return 13 <= len(digits) <= 19 and luhn_valid(digits)
    if kind == "IBAN":
        return iban_valid(found)
    if kind == "IP":
        return _ip_valid(found)
    if kind == "PHONE":
        # Order numbers (5–10 digits) and prices stay; phone numbers have 9 to 15 digits.
        return 9 <= len(digits) <= 15 and not re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", found)
    return True


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    compact = iban.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _ip_valid(candidate: str) -> bool:
    if candidate.count(":") < 2 and candidate.count(".") != 3:
        return False
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def restore(value, values: dict[str, str]):
    """Put the real values back into a model's output (text, or the arguments of a tool call)."""
    if not values:
        return value
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda match: values.get(match.group(0), match.group(0)), value)
    if isinstance(value, list):
        return [restore(item, values) for item in value]
    if isinstance(value, dict):
        return {key: restore(item, values) for key, item in value.items()}
    return value
