"""The evaluation gate: labelled customer messages run through the real pipeline, scored.

A dataset is JSON lines: `{"message", "expected_outcome": "answered"|"handover"|"review",
"expected_intent"?, "history"?: [{"role": "customer"|"ai", "content"}]}`. Each case gets a
fresh conversation of the chosen inbox, and its turn runs in this process through the same
`turn_run` a worker calls.
"""

import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agents.models import PipelineRun
from agents.pipelines import turns
from conversations import services as conversations
from conversations.models import Inbox

OUTCOMES = ("answered", "handover", "review")
HISTORY_ROLES = ("customer", "ai")


class DatasetError(ValueError):
    pass


@dataclass(frozen=True)
class Case:
    line: int
    message: str
    expected_outcome: str
    expected_intent: str | None = None
    history: list[dict] = field(default_factory=list)


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
    unknown = set(raw) - {"message", "expected_outcome", "expected_intent", "history"}
    if unknown:
        raise DatasetError(f"line {number}: unknown keys {', '.join(sorted(unknown))}")
    if not isinstance(raw.get("message"), str) or not raw["message"].strip():
        raise DatasetError(f"line {number}: message must be a non-empty string")
    if raw.get("expected_outcome") not in OUTCOMES:
        raise DatasetError(f"line {number}: expected_outcome must be one of {', '.join(OUTCOMES)}")
    history = raw.get("history") or []
    if not isinstance(history, list) or not all(
        isinstance(item, dict) and item.get("role") in HISTORY_ROLES and isinstance(item.get("content"), str)
        for item in history
    ):
        raise DatasetError(f"line {number}: history must be a list of {{role: customer|ai, content}}")
    return Case(number, raw["message"], raw["expected_outcome"], raw.get("expected_intent"), history)


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
    conversation, _, _ = conversations.conversation_open(inbox, name="Evaluation")
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
    return CaseResult(
        line=case.line,
        message=case.message,
        expected_outcome=case.expected_outcome,
        outcome=outcome_of(run),
        expected_intent=case.expected_intent,
        intent=(run.state.get("intent") or "") if run else "",
        confidence=run.state.get("confidence") if run else None,
        reason=run.reason if run else "no run",
        latency_ms=latency_ms,
        cost_usd=float(sum(step.cost_usd for step in run.steps.all())) if run else 0.0,
        conversation_id=conversation.pk,
    )


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


def report(results: list[CaseResult]) -> dict:
    with_intent = [r for r in results if r.expected_intent]
    must_hand_over = [r for r in results if r.expected_outcome == "handover"]
    handed_over = [r for r in results if r.outcome == "handover"]
    latencies = sorted(r.latency_ms for r in results)
    return {
        "cases": len(results),
        "intent_accuracy": _share(with_intent, lambda r: r.intent == r.expected_intent),
        "outcome_accuracy": _share(results, lambda r: r.outcome == r.expected_outcome),
        "handover_precision": _share(handed_over, lambda r: r.expected_outcome == "handover"),
        "handover_recall": _share(must_hand_over, lambda r: r.outcome == "handover"),
        "auto_resolution_rate": _share(results, lambda r: r.outcome == "answered"),
        "latency_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p95": round(latencies[max(0, round(0.95 * len(latencies)) - 1)], 1),
        },
        "cost_usd": {
            "total": round(sum(r.cost_usd for r in results), 6),
            "per_turn": round(sum(r.cost_usd for r in results) / len(results), 8),
        },  # fmt: skip
        "mistakes": [
            asdict(r)
            for r in results
            if r.outcome != r.expected_outcome or (r.expected_intent and r.intent != r.expected_intent)
        ],  # fmt: skip
    }


def _share(results: list[CaseResult], correct) -> float | None:
    """The share of results that are correct; None when there is nothing to measure."""
    return round(sum(1 for r in results if correct(r)) / len(results), 4) if results else None
