"""The evaluation gate: labelled customer messages run through the real pipeline, scored.

A dataset is JSON lines: `{"message", "expected_outcome": "answered"|"handover"|"review",
"expected_intent"?, "history"?: [{"role": "customer"|"ai", "content"}], "customer"?:
{"identifier", "email"?, "name"?}, "expected_source"?, "expected_contains"?, "expected_tool"?,
"expected_arguments"?, "expected_language"?}`. Each case gets a fresh conversation of the chosen
inbox (as the verified customer it names, if any), and its turn runs in this process through the
same `turn_run` a worker calls.

The answer is scored from what the run left behind, not from the model's text alone: the
citations the answer node resolved, the tool calls the shop received (`ToolCall` rows), and the
gated action the run stopped for (`state["pending_action"]`), so any model can be measured.
"""

import json
import re
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agents.languages import LANGUAGES, language_of
from agents.models import PipelineRun, ToolCall
from agents.pipelines import turns
from conversations import services as conversations
from conversations.models import Inbox

OUTCOMES = ("answered", "handover", "review")
HISTORY_ROLES = ("customer", "ai")
KEYS = {
    "message", "expected_outcome", "expected_intent", "history", "customer", "expected_source",
    "expected_contains", "expected_tool", "expected_arguments", "expected_language",
}  # fmt: skip
CITATION = re.compile(r"\s*\[\d+\]")
DASHES = str.maketrans({"–": "-", "—": "-", "\u00a0": " ", "\u202f": " "})


class DatasetError(ValueError):
    pass


@dataclass(frozen=True)
class Case:
    line: int
    message: str
    expected_outcome: str
    expected_intent: str | None = None
    history: list[dict] = field(default_factory=list)
    customer: dict | None = None
    expected_source: str | None = None
    # Each entry must appear in the reply; an entry that is a list is met by any of its strings.
    expected_contains: list = field(default_factory=list)
    expected_tool: str | None = None
    expected_arguments: dict = field(default_factory=dict)
    expected_language: str | None = None

    def expects_an_answer(self) -> bool:
        return bool(self.expected_source or self.expected_contains or self.expected_tool or self.expected_language)


@dataclass
class CaseResult:
    line: int
    message: str
    expected_outcome: str
    outcome: str
    expected_intent: str | None
    intent: str
    confidence: float | None
    reason: str
    latency_ms: float
    cost_usd: float
    conversation_id: int
    reply: str = ""
    sources: list[str] = field(default_factory=list)
    tools: list[dict] = field(default_factory=list)
    language: str = ""
    # Which expectations were checked, and whether each held: {"source": True, "tool": False, …}.
    checks: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def load_cases(path: Path) -> list[Case]:
    """The dataset's cases; a malformed line is refused with its number and what is wrong."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise DatasetError(f"Cannot read {path}: {error.strerror or error}") from error
    cases = [_case(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    if not cases:
        raise DatasetError(f"{path} has no cases.")
    return cases


def _case(number: int, line: str) -> Case:
    try:
        raw = json.loads(line)
    except ValueError as error:
        raise DatasetError(f"line {number}: not JSON ({error})") from error
    if not isinstance(raw, dict):
        raise DatasetError(f"line {number}: expected a JSON object")
    unknown = set(raw) - KEYS
    if unknown:
        raise DatasetError(f"line {number}: unknown keys {', '.join(sorted(unknown))}")
    problem = _problem(raw)
    if problem:
        raise DatasetError(f"line {number}: {problem}")
    return Case(
        number, raw["message"], raw["expected_outcome"], raw.get("expected_intent"), raw.get("history") or [],
        raw.get("customer"), raw.get("expected_source"), raw.get("expected_contains") or [],
        raw.get("expected_tool"), raw.get("expected_arguments") or {}, raw.get("expected_language"),
    )  # fmt: skip


def _problem(raw: dict) -> str:
    """What is wrong with a parsed line, or ""."""
    if not isinstance(raw.get("message"), str) or not raw["message"].strip():
        return "message must be a non-empty string"
    if raw.get("expected_outcome") not in OUTCOMES:
        return f"expected_outcome must be one of {', '.join(OUTCOMES)}"
    history = raw.get("history") or []
    if not isinstance(history, list) or not all(
        isinstance(item, dict) and item.get("role") in HISTORY_ROLES and isinstance(item.get("content"), str)
        for item in history
    ):
        return "history must be a list of {role: customer|ai, content}"
    customer = raw.get("customer")
    if customer is not None and not (isinstance(customer, dict) and _text(customer.get("identifier"))):
        return "customer must be an object with a non-empty identifier"
    for key in ("expected_source", "expected_tool"):
        if key in raw and not _text(raw[key]):
            return f"{key} must be a non-empty string"
    contains = raw.get("expected_contains", [])
    if not isinstance(contains, list) or not all(_text(item) or _texts(item) for item in contains):
        return "expected_contains must be a list of strings (or of lists of alternatives)"
    if not isinstance(raw.get("expected_arguments", {}), dict):
        return "expected_arguments must be an object"
    if raw.get("expected_arguments") and not raw.get("expected_tool"):
        return "expected_arguments needs expected_tool"
    if "expected_language" in raw and raw["expected_language"] not in LANGUAGES:
        return f"expected_language must be one of {', '.join(LANGUAGES)}"
    return ""


def _text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _texts(value) -> bool:
    return isinstance(value, list) and bool(value) and all(_text(item) for item in value)


# Running ------------------------------------------------------------------------------------


def evaluate(cases: list[Case], inbox: Inbox, *, on_result=None, keep: bool = False) -> list[CaseResult]:
    results = []
    for case in cases:
        result = evaluate_case(case, inbox)
        results.append(result)
        if on_result:
            on_result(result)
        if not keep:
            conversations.conversation_delete(result.conversation_id, actor="evaluation")
    return results


def evaluate_case(case: Case, inbox: Inbox) -> CaseResult:
    conversation = _open(case, inbox)
    for number, item in enumerate(case.history):
        if item["role"] == "customer":
            conversations.message_post_from_customer(
                conversation.pk, content=item["content"], client_message_id=f"eval-{number}", request_ai_turn=False
            )
        else:
            conversations.message_post_from_ai(conversation.pk, content=item["content"], answers_earlier=True)
    conversations.message_post_from_customer(
        conversation.pk, content=case.message, client_message_id="eval", request_ai_turn=False
    )
    started = time.perf_counter()
    turns.turn_run(conversation.pk)
    latency_ms = (time.perf_counter() - started) * 1000
    run = PipelineRun.objects.filter(conversation=conversation).order_by("-started_at").first()
    state = run.state if run else {}
    answered = run is not None and run.status == PipelineRun.Status.FINISHED
    reply = (state.get("reply") or "") if answered else ""
    result = CaseResult(
        line=case.line,
        message=case.message,
        expected_outcome=case.expected_outcome,
        outcome=outcome_of(run),
        expected_intent=case.expected_intent,
        intent=state.get("intent") or "",
        confidence=state.get("confidence"),
        reason=run.reason if run else "no run",
        latency_ms=latency_ms,
        cost_usd=float(sum(step.cost_usd for step in run.steps.all())) if run else 0.0,
        conversation_id=conversation.pk,
        reply=reply,
        sources=[citation["title"] for citation in state.get("citations", [])],
        tools=tools_of(conversation.pk, state),
        language=language_of(CITATION.sub("", reply)) if reply else "",
    )
    score(case, result)
    return result


def _open(case: Case, inbox: Inbox):
    """A new conversation; for a case that names its customer, as that verified customer."""
    if not case.customer:
        conversation, _, _ = conversations.conversation_open(inbox, name="Evaluation")
        return conversation
    identifier = case.customer["identifier"]
    conversation, _, _ = conversations.conversation_open(
        inbox, identifier=identifier, identifier_hash=inbox.identifier_hash(identifier),
        name=case.customer.get("name", ""), email=case.customer.get("email", ""),
    )  # fmt: skip
    return conversation


def tools_of(conversation_id: int, state: dict) -> list[dict]:
    """The calls the shop received in this conversation, then the gated one the run stopped for."""
    calls = ToolCall.objects.filter(conversation_id=conversation_id).select_related("tool").order_by("pk")
    made = [{"name": call.tool.name, "arguments": call.arguments} for call in calls]
    pending = state.get("pending_action")
    if pending and "tool" in pending:
        made.append({"name": pending["tool"], "arguments": pending["arguments"], "pending": True})
    return made


def outcome_of(run: PipelineRun | None) -> str:
    if run is None:
        return "handover"  # an inbox without an AI agent hands every conversation to people
    if run.status == PipelineRun.Status.FINISHED:
        return "answered"
    if run.status == PipelineRun.Status.WAITING:
        return "review"  # an action (or a reply) waits for a reviewer's decision
    if run.status == PipelineRun.Status.HANDED_OVER:
        return "review" if run.reason == "approval_required" else "handover"
    return run.status


# Scoring ------------------------------------------------------------------------------------


def score(case: Case, result: CaseResult) -> None:
    """Fill in the result's checks and what failed."""
    checks, failures = {}, []
    if result.outcome != case.expected_outcome:
        failures.append(f"outcome {result.outcome} ({result.reason or 'answered'}), expected {case.expected_outcome}")
    if case.expected_intent and result.intent != case.expected_intent:
        failures.append(f"intent {result.intent or '-'}, expected {case.expected_intent}")
    if case.expected_source:
        checks["source"] = bool(result.sources) and result.sources[0] == case.expected_source
        if not checks["source"]:
            failures.append(f"cited {result.sources[:1] or 'nothing'}, expected {case.expected_source!r}")
    if case.expected_contains:
        missing = [entry for entry in case.expected_contains if not _contains(result.reply, entry)]
        checks["contains"] = not missing
        if missing:
            failures.append(f"reply lacks {missing}")
    if case.expected_tool:
        checks["tool"] = any(_call_matches(call, case) for call in result.tools)
        if not checks["tool"]:
            failures.append(f"tools {[(c['name'], c['arguments']) for c in result.tools]}, expected "
                            f"{case.expected_tool} {case.expected_arguments}")  # fmt: skip
    if case.expected_language:
        checks["language"] = result.language == case.expected_language
        if not checks["language"]:
            failures.append(f"replied in {result.language or 'nothing'}, expected {case.expected_language}")
    result.checks, result.failures = checks, failures


def _contains(reply: str, entry) -> bool:
    alternatives = entry if isinstance(entry, list) else [entry]
    said = _plain(reply)
    return any(_plain(alternative) in said for alternative in alternatives)


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(DASHES)).casefold()


def _call_matches(call: dict, case: Case) -> bool:
    if call["name"] != case.expected_tool:
        return False
    given = call.get("arguments") or {}
    return all(_same(given.get(name), wanted) for name, wanted in case.expected_arguments.items())


def _same(given, wanted) -> bool:
    if given is None:
        return False
    if isinstance(wanted, int | float) and not isinstance(wanted, bool):
        try:
            return abs(float(given) - float(wanted)) < 0.005
        except (TypeError, ValueError):
            return False
    # Addresses and free text: the same words, whatever the spacing, case or final full stop.
    return _plain(str(given)).strip(" .!") == _plain(str(wanted)).strip(" .!")


def report(results: list[CaseResult]) -> dict:
    with_intent = [r for r in results if r.expected_intent]
    must_hand_over = [r for r in results if r.expected_outcome == "handover"]
    handed_over = [r for r in results if r.outcome == "handover"]
    answer_cases = [r for r in results if r.expected_outcome == "answered" and r.checks]
    latencies = sorted(r.latency_ms for r in results)
    return {
        "cases": len(results),
        "intent_accuracy": _share(with_intent, lambda r: r.intent == r.expected_intent),
        "outcome_accuracy": _share(results, lambda r: r.outcome == r.expected_outcome),
        "handover_precision": _share(handed_over, lambda r: r.expected_outcome == "handover"),
        "handover_recall": _share(must_hand_over, lambda r: r.outcome == "handover"),
        "auto_resolution_rate": _share(results, lambda r: r.outcome == "answered"),
        # An answered case is right when it was answered and every expectation held.
        "answer_accuracy": _share(answer_cases, lambda r: r.outcome == "answered" and all(r.checks.values())),
        "source_accuracy": _checked(results, "source"),
        "tool_accuracy": _checked(results, "tool"),
        "language_accuracy": _checked(results, "language"),
        "latency_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p95": round(latencies[max(0, round(0.95 * len(latencies)) - 1)], 1),
        },
        "cost_usd": {
            "total": round(sum(r.cost_usd for r in results), 6),
            "per_turn": round(sum(r.cost_usd for r in results) / len(results), 8),
        },  # fmt: skip
        "mistakes": [asdict(r) for r in results if r.failures],
    }


def _checked(results: list[CaseResult], check: str) -> float | None:
    return _share([r for r in results if check in r.checks], lambda r: r.checks[check])


def _share(results: list[CaseResult], correct) -> float | None:
    """The share of results that are correct; None when there is nothing to measure."""
    return round(sum(1 for r in results if correct(r)) / len(results), 4) if results else None
