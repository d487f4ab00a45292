"""The local model's back-office work, offline: a document part's findings, entities and risk
flags by patterns; fields by the schema's names, types and patterns; risk by the rules that hold
and what is missing; summaries by extraction. It reads only what the prompts carry
(agents.llm.workflow_prompts), like a real model would."""

import json
import re

from agents.llm import workflow_prompts as wp
from agents.llm.local.answers import extractive_summary

SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n{2,}|\n(?=[-•*\d])")
SEVERITY = [
    ("high", re.compile(r"\b(?:penalt|terminat|breach|liab|indemnif|default|forfeit|fraud|lawsuit|unlimited|"
                        r"immediate(?:ly)? due|void|damages)\w*", re.I)),
    ("medium", re.compile(r"\b(?:shall|must|obliged|deadline|within \d+ (?:business )?days|late|overdue|"
                          r"renew\w*|exclusiv\w*|confidential\w*|warrant\w*|interest)\b", re.I)),
]  # fmt: skip
FLAGS = {
    "termination": re.compile(r"\bterminat", re.I),
    "penalties": re.compile(r"\bpenalt|liquidated damages", re.I),
    "liability": re.compile(r"\bliab(?:le|ility)|indemnif", re.I),
    "automatic renewal": re.compile(r"\b(?:auto(?:matic(?:ally)?)?[- ]?renew|renews? automatically)", re.I),
    "exclusivity": re.compile(r"\bexclusiv", re.I),
    "confidentiality": re.compile(r"\bconfidential", re.I),
    "late payment": re.compile(r"\blate payment|overdue|interest on (?:late|overdue)", re.I),
}
PERSON = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?")
SIGNED = re.compile(r"\b(?:signed by|represented by|attention of|contact person:?)\s+([A-Z][a-z]+\s+[A-Z][a-z]+)")
ORGANISATION = re.compile(
    r"\b(?:[A-Z][\w&'-]*\s+){0,3}[A-Z][\w&'-]*\s+(?:GmbH|AG|Ltd|Limited|LLC|Inc|Corp|Corporation|S\.A\.|SAS|plc|"
    r"B\.V\.|Co\.)(?=\W|$)"
)
MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
DATE = re.compile(
    rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}|\d{{1,2}}\s+{MONTHS}\s+\d{{4}}|"
    rf"{MONTHS}\s+\d{{1,2}},\s+\d{{4}})\b"
)
AMOUNT = re.compile(
    r"(?:[€$£]\s?\d[\d,.]*\d|\d[\d,.]*\s?(?:€|EUR|USD|GBP)\b|(?:EUR|USD|GBP)\s?\d[\d,.]*\d?)(?:\s?(?:million|m|k))?"
)
EMAIL = re.compile(r"[^@\s<>(),;:]{1,64}@[^@\s<>(),;:]{1,252}\.[a-z]{2,}", re.I)
NUMBER = re.compile(r"(?<![\d.])\d{1,3}(?:[ ,.]\d{3})*(?:[.,]\d{1,2})?(?![\d])")
FINDINGS_PER_PART = 8
RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
SCORE = {"low": 15, "medium": 45, "high": 75, "critical": 92}


def respond(task: str, messages: list[dict]) -> str:
    text = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "") or ""
    if task == wp.ANALYSE_CHUNK:
        return json.dumps(analyse(text))
    if task == wp.SUMMARIZE_REPORT:
        return extractive_summary(text, limit=4)
    if task == wp.EXTRACT_FIELDS:
        return json.dumps(extract(messages, text))
    if task == wp.CHECK_FIELDS:
        return json.dumps(check(wp.section(messages, "fields") or {}, text))
    return json.dumps(assess(wp.section(messages, "holding") or [], json.loads(text or "{}")))


# A document's part ---------------------------------------------------------------------------


def sentences(text: str) -> list[str]:
    return [" ".join(part.split()) for part in SENTENCE.split(text) if len(part.split()) >= 3]


def analyse(text: str) -> dict:
    said = sentences(text)
    findings = []
    for sentence in said:
        severity = next((level for level, pattern in SEVERITY if pattern.search(sentence)), None)
        if severity:
            findings.append({"text": sentence[:400], "severity": severity})
    findings.sort(key=lambda finding: -RANK[finding["severity"]])
    people = [*PERSON.findall(text), *SIGNED.findall(text)]
    return {
        "summary": extractive_summary("\n".join(said[:40]), limit=2) if said else "",
        "findings": findings[:FINDINGS_PER_PART],
        "entities": {
            "people": _unique(people),
            "organisations": _unique(match.strip() for match in ORGANISATION.findall(text)),
            "dates": _unique(DATE.findall(text)),
            "amounts": _unique(match.strip() for match in AMOUNT.findall(text)),
        },
        "risk_flags": [flag for flag, pattern in FLAGS.items() if pattern.search(text)],
    }


def _unique(values) -> list[str]:
    return list(dict.fromkeys(" ".join(value.split()) for value in values))[:20]


# Applications --------------------------------------------------------------------------------


def extract(messages: list[dict], documents: str) -> dict:
    """Given fields first; then each missing property of the schema found by a `Name: value`
    line whose label is its name (or title), by its pattern, or by its type."""
    schema = wp.section(messages, "schema") or {}
    given = wp.section(messages, "given") or {}
    applicant = wp.section(messages, "applicant") or {}
    fields = {}
    for name, spec in (schema.get("properties") or {}).items():
        value = given.get(name, applicant.get(name))
        if value is None:
            value = _found(name, spec, documents)
        if value is not None:
            fields[name] = _typed(value, spec)
    summary = extractive_summary(documents, limit=2) if documents.strip() and documents != "(no documents)" else ""
    described = ", ".join(f"{name} {value}" for name, value in fields.items())
    return {"fields": fields, "summary": summary or f"An application with {described or 'no fields found'}."}


def _found(name: str, spec: dict, text: str):
    labels = {name.replace("_", " "), name, str(spec.get("title", "")).lower()} - {""}
    for line in text.splitlines():
        label, _, value = line.partition(":")
        if value.strip() and label.strip().lower().lstrip("#-* ") in labels:
            return value.strip()
    if spec.get("pattern"):
        found = re.search(spec["pattern"].strip("^$"), text)
        if found:
            return found.group(0)
    if spec.get("format") == "email" or "email" in name:
        found = EMAIL.search(text)
        return found.group(0) if found else None
    if spec.get("type") in ("number", "integer"):
        amount = AMOUNT.search(text)
        return amount.group(0) if amount else None
    return None


def _typed(value, spec: dict):
    if spec.get("type") in ("number", "integer") and isinstance(value, str):
        number = NUMBER.search(value.replace("\u202f", " "))
        if number is None:
            return value
        digits = number.group(0).replace(" ", "")
        # "1.200,50" and "1,200.50": the last separator before two digits is the decimal one.
        if re.search(r"[.,]\d{1,2}$", digits):
            digits = re.sub(r"[.,](?=\d{3})", "", digits[:-3]) + "." + digits[-2:].lstrip(".,")
        else:
            digits = re.sub(r"[.,]", "", digits)
        return int(float(digits)) if spec["type"] == "integer" else float(digits)
    if spec.get("type") == "string" and not isinstance(value, str):
        return str(value)
    return value


def check(fields: dict, documents: str) -> dict:
    """Every given text or number should appear in the documents."""
    flat = " ".join(documents.split()).lower()
    notes = [
        f"{name}: {value!r} does not appear in the documents"
        for name, value in fields.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).lower() not in flat
    ]
    return {"consistent": not notes, "notes": notes}


def assess(holding: list[dict], subject: dict) -> dict:
    """The highest level of the rules that hold, raised for failed checks; less sure the more is
    missing or flagged."""
    level = "low"
    factors = []
    for rule in holding:
        level = max(level, rule.get("level", "low"), key=RANK.get)
        factors.append(rule.get("factor", ""))
    validation = subject.get("validation") or {}
    failed = validation.get("failed") or []
    if failed:
        level = max(level, "medium", key=RANK.get)
        factors += [f"Check failed: {rule.get('message') or rule.get('name')}" for rule in failed]
    confidence = 0.9 - 0.2 * len(subject.get("missing") or []) - (0.3 if subject.get("flagged") else 0)
    if subject.get("missing"):
        factors.append(f"Missing: {', '.join(subject['missing'])}")
    score = min(100, SCORE[level] + 3 * max(0, len(factors) - 1))
    factors = [factor for factor in factors if factor] or ["No rule of concern holds and every check passed."]
    return {"level": level, "score": score, "factors": factors, "confidence": round(max(0.0, confidence), 2)}
