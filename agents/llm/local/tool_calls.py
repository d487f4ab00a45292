"""Choosing a tool for a request and filling the arguments the request states."""

import re

from agents.llm.local.intents import similarities

ORDER_NUMBER = re.compile(r"\b(\d{5,10})\b")
AMOUNT = re.compile(
    r"(?:€|\$|£|eur|usd)\s?(\d+(?:[.,]\d{1,2})?)|(\d+(?:[.,]\d{1,2})?)\s?(?:€|\$|£|eur|euros?|usd|dollars?)", re.I
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
ADDRESS = re.compile(r"(?:address|ship(?:ping)? to|send it to)\s*(?:is|to|:)?\s*(.+)$", re.I | re.S)
# A tool whose description fits the request less than this is not called.
FITS_FROM = 0.2

EXTRACTORS = {
    "order_number": lambda text: _first(ORDER_NUMBER, text),
    "amount": lambda text: _amount(text),
    "email": lambda text: _first(EMAIL, text),
    "address": lambda text: _first(ADDRESS, text),
    "query": lambda text: text.strip(),
    "reason": lambda text: text.strip()[:500],
}
# Free text any request "contains": it says nothing about whether the tool is wanted.
FREE_TEXT = {"query", "reason"}
# A request that names a tool's key argument (an order number, an email) is far more likely a
# request for that tool than its wording alone shows.
NAMED_ARGUMENT_BONUS = 0.15


def _first(pattern, text):
    found = pattern.search(text)
    return (found.group(1) if found.groups() else found.group(0)).strip() if found else None


def _amount(text):
    found = AMOUNT.search(text)
    if not found:
        return None
    return float((found.group(1) or found.group(2)).replace(",", "."))


def choose_tool(request: str, tools: list[dict]) -> dict | None:
    """The OpenAI-style tool spec whose name and description fit the request best, if any fits."""
    tool, fit = best_tool(request, tools)
    return tool if fit >= FITS_FROM else None


def best_tool(request: str, tools: list[dict]) -> tuple[dict | None, float]:
    """The tool that fits the request best, and how well (a similarity)."""
    if not tools or not request.strip():
        return None, 0.0
    descriptions = [f"{t['function']['name'].replace('_', ' ')}: {t['function'].get('description', '')}" for t in tools]
    scores = similarities(request, descriptions)
    best = int(scores.argmax())
    return tools[best], float(scores[best])


def fill_arguments(request: str, tool: dict, earlier: list[str] = ()) -> tuple[dict, list[str]]:
    """(arguments found in the request, else in the `earlier` messages, newest first; required
    arguments still missing)."""
    parameters = tool["function"].get("parameters", {})
    arguments = {}
    for name, schema in parameters.get("properties", {}).items():
        extract = EXTRACTORS.get(name) or EXTRACTORS.get(schema.get("format", ""))
        if extract is None:
            continue
        texts = [request] if name in FREE_TEXT else [request, *reversed(earlier)]
        value = next((found for found in map(extract, texts) if found is not None), None)
        if value is not None:
            arguments[name] = value
    missing = [name for name in parameters.get("required", []) if name not in arguments]
    return arguments, missing


def clarifying_question(tool: dict, missing: list[str]) -> str:
    wanted = " and ".join(name.replace("_", " ") for name in missing)
    return f"I can help with that. Could you tell me the {wanted}?"


def evidence_for(request: str, tool: dict, fit: float) -> float:
    """How strongly the request asks for this tool: its fit, raised when it names a key argument."""
    arguments, _ = fill_arguments(request, tool)
    required = tool["function"].get("parameters", {}).get("required", [])
    named = [name for name in required if name in arguments and name not in FREE_TEXT]
    return fit + (NAMED_ARGUMENT_BONUS if named else 0.0)
