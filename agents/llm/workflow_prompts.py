"""The prompts of the back-office workflows (document analysis, application review), shared by
the nodes that send them and the local model that reads them back. Each asks for JSON only; the
data it carries sits in labelled sections (`Schema:`, `Fields:`, …) of one JSON value each, which
a real model reads as plain text and the local model parses."""

import json

from agents.llm.prompts import TASK_LINE

ANALYSE_CHUNK = "analyse_chunk"
SUMMARIZE_REPORT = "summarize_report"
EXTRACT_FIELDS = "extract_fields"
CHECK_FIELDS = "check_fields"
ASSESS_RISK = "assess_risk"
TASKS = (ANALYSE_CHUNK, SUMMARIZE_REPORT, EXTRACT_FIELDS, CHECK_FIELDS, ASSESS_RISK)


def _system(task: str, instructions: str, **sections) -> dict:
    data = "".join(
        f"\n\n{name.capitalize()}:\n{json.dumps(value, ensure_ascii=False)}" for name, value in sections.items()
    )
    return {"role": "system", "content": f"{TASK_LINE.format(task=task)}\n{instructions}{data}"}


def chunk_messages(text: str, pages: list[int]) -> list[dict]:
    instructions = (
        f"You read one part of a longer document (pages {pages[0]}–{pages[-1]}). Reply with JSON only: "
        '{"summary": "<two sentences>", "findings": [{"text": "<an obligation, a risk or a notable term, quoted '
        'or close to the text>", "severity": "low" | "medium" | "high"}], "entities": {"people": [], '
        '"organisations": [], "dates": [], "amounts": []}, "risk_flags": ["<short name of a risk>"]}.'
    )
    return [_system(ANALYSE_CHUNK, instructions), {"role": "user", "content": text}]


def report_summary_messages(parts: list[str]) -> list[dict]:
    instructions = (
        "These are the summaries and main findings of a document's parts, in order. Write an executive "
        "summary of the whole document in at most five sentences, plain text."
    )
    return [_system(SUMMARIZE_REPORT, instructions), {"role": "user", "content": "\n".join(parts)}]


def extract_messages(schema: dict, given: dict, applicant: dict, documents: list[dict]) -> list[dict]:
    instructions = (
        "Extract the fields the schema describes from the applicant and the documents. Fields already given "
        "stand unless the documents clearly contradict them. Leave out what you cannot find. Reply with JSON "
        'only: {"fields": {…}, "summary": "<the application in two sentences>"}.'
    )
    system = _system(EXTRACT_FIELDS, instructions, schema=schema, given=given, applicant=applicant)
    return [system, {"role": "user", "content": documents_text(documents) or "(no documents)"}]


def retry_messages(messages: list[dict], answer: str, problems: list[str]) -> list[dict]:
    """Ask once more, telling the model what was wrong with its answer."""
    said = "Your answer did not match the schema: " + "; ".join(problems) + ". Reply again with JSON only."
    return [*messages, {"role": "assistant", "content": answer}, {"role": "user", "content": said}]


def check_messages(fields: dict, documents: list[dict]) -> list[dict]:
    instructions = (
        "Do these fields agree with the documents? Reply with JSON only: "
        '{"consistent": true | false, "notes": ["<each disagreement or doubt>"]}.'
    )
    return [_system(CHECK_FIELDS, instructions, fields=fields), {"role": "user", "content": documents_text(documents)}]


def risk_messages(subject: dict, holding: list[dict]) -> list[dict]:
    instructions = (
        "Assess the risk of deciding this application automatically. The rules listed under Holding were found "
        'to hold and set the least level. Reply with JSON only: {"level": "low" | "medium" | "high" | '
        '"critical", "score": <0-100>, "factors": ["<each reason, as a reviewer reads it>"], "confidence": <0-1, '
        "how sure you are>}."
    )
    return [_system(ASSESS_RISK, instructions, holding=holding), {"role": "user", "content": json.dumps(subject)}]


def documents_text(documents: list[dict]) -> str:
    return "\n\n".join(f"# {document.get('name') or 'Document'}\n{document.get('text', '')}" for document in documents)


def section(messages: list[dict], name: str):
    """The JSON value of a labelled section of the system prompt, or None."""
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    marker = f"\n\n{name.capitalize()}:\n"
    if marker not in system:
        return None
    try:
        return json.JSONDecoder().raw_decode(system.split(marker, 1)[1])[0]
    except ValueError:
        return None


def pages_of(messages: list[dict]) -> str:
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    start = system.find("(pages ")
    return system[start + 7 : system.find(")", start)] if start >= 0 else ""
