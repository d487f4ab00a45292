"""The dashboard's figures for a period and inbox, from the daily rollups (a few thousand rows at
most, whatever the raw volume) and a few indexed counts of what is open now."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import Decimal

from django.db.models import Count, Q
from django.utils import timezone

from agents.llm import budgets
from agents.models import AIAgent, Budget
from conversations.models import Conversation, Inbox
from hilconsole.models import DailyMetric, RollupState
from hilconsole.rollups import BOUNDS, SEP
from reviews.models import ReviewTask

PERIODS = {"24h": ("today (UTC)", 1), "7d": ("7 days", 7), "30d": ("30 days", 30)}


@dataclass
class Sums:
    """One metric's rows added up, by key."""

    count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    buckets: list[int] = field(default_factory=list)

    def add(self, row: dict) -> None:
        self.count[row["key"]] += row["count"]
        self.total[row["key"]] += row["total"]
        if row["buckets"]:
            self.buckets = [a + b for a, b in zip(self.buckets or [0] * len(row["buckets"]), row["buckets"],
                                                  strict=True)]  # fmt: skip

    def n(self) -> int:
        return sum(self.count.values())

    def sum(self) -> float:
        return sum(self.total.values())


def quantile(buckets: list[int], bounds: list[float], q: float) -> float | None:
    """The q-quantile of a histogram, interpolated within its bucket (the last bucket, above
    every bound, is reported as its lower bound)."""
    n = sum(buckets)
    if not n:
        return None
    rank, seen = q * n, 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            low = bounds[index - 1] if index else 0.0
            if index == len(bounds):
                return low
            return low + (bounds[index] - low) * (rank - seen) / count
        seen += count
    return bounds[-1]


def rate(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def dashboard_figures(period: str, inbox: Inbox | None) -> dict:
    days = PERIODS[period][1]
    today = timezone.now().astimezone(UTC).date()
    start = today - timedelta(days=days - 1)
    rows = DailyMetric.objects.filter(day__gte=start, day__lte=today)
    if inbox is not None:
        rows = rows.filter(inbox=inbox)
    sums: dict[str, Sums] = defaultdict(Sums)
    by_day: dict[date, float] = defaultdict(float)
    by_inbox: dict[int | None, float] = defaultdict(float)
    for row in rows.values("day", "inbox_id", "metric", "key", "count", "total", "buckets"):
        sums[row["metric"]].add(row)
        if row["metric"] == "llm_calls":
            by_day[row["day"]] += row["total"]
            by_inbox[row["inbox_id"]] += row["total"]
    figures = {"period": period, "days": [start + timedelta(days=n) for n in range(days)]}
    figures |= _ai(sums)
    figures |= _people(sums, inbox)
    figures |= _costs(sums, by_day, by_inbox, figures)
    figures |= _reliability(sums)
    figures["budgets"] = budget_use(inbox)
    figures["refreshed_at"] = (
        RollupState.objects.order_by("-refreshed_at").values_list("refreshed_at", flat=True).first()
    )
    return figures


def _ai(sums) -> dict:
    turns, closed = sums["ai_turns"], sums["closed"]
    latency = sums["ai_turn_seconds"].buckets
    return {
        "ai_turns": turns.n(),
        "turn_outcomes": dict(turns.count),
        "auto_resolution": rate(closed.count["ai"], closed.count["ai"] + closed.count["human"]),
        "handovers": dict(sums["handovers"].count),
        "turn_p50": quantile(latency, BOUNDS["ai_turn_seconds"], 0.5),
        "turn_p95": quantile(latency, BOUNDS["ai_turn_seconds"], 0.95),
    }


def _people(sums, inbox) -> dict:
    claim, first, decision, csat = (sums[m] for m in ("claim_seconds", "first_response_seconds",
                                                      "decision_seconds", "csat"))  # fmt: skip
    open_tasks = ReviewTask.objects.filter(status=ReviewTask.Status.OPEN)
    if inbox is not None:
        open_tasks = open_tasks.filter(inbox=inbox)
    by_tool = open_tasks.values("tool__name", "kind").annotate(n=Count("pk"))
    waiting = Conversation.objects.filter(status=Conversation.Status.PENDING_HUMAN)
    return {
        "claim_p50": quantile(claim.buckets, BOUNDS["claim_seconds"], 0.5),
        "claim_p95": quantile(claim.buckets, BOUNDS["claim_seconds"], 0.95),
        "first_response_p50": quantile(first.buckets, BOUNDS["first_response_seconds"], 0.5),
        "first_response_p95": quantile(first.buckets, BOUNDS["first_response_seconds"], 0.95),
        "csat": rate(csat.sum(), csat.n()),
        "csat_count": csat.n(),
        "open_reviews": {row["tool__name"] or row["kind"]: row["n"] for row in by_tool},
        "decision_p50": quantile(decision.buckets, BOUNDS["decision_seconds"], 0.5),
        "decisions": decision.n(),
        "queue_waiting": (waiting.filter(inbox=inbox) if inbox else waiting).count(),
    }


def _costs(sums, by_day, by_inbox, figures) -> dict:
    calls = sums["llm_calls"]
    by_model: dict[str, float] = defaultdict(float)
    for key, total in calls.total.items():
        by_model[key.split(SEP)[0]] += total
    agent_names = dict(AIAgent.objects.values_list("pk", "name"))
    inbox_names = dict(Inbox.objects.values_list("pk", "name"))
    resolved = sums["closed"].n()
    cost = calls.sum()
    return {
        "cost": cost,
        "cost_per_resolved": rate(cost, resolved),
        "resolved": resolved,
        "cost_by_model": [(model, total) for model, total in by_model.items() if total],
        "cost_by_agent": [
            (agent_names.get(int(key), f"deleted agent #{key}") if key else "no AI agent", total)
            for key, total in sums["llm_cost_agent"].total.items() if total
        ],
        "cost_by_inbox": [(inbox_names.get(pk, "no inbox"), total) for pk, total in by_inbox.items() if total],
        "cost_by_day": [(day.isoformat(), by_day.get(day, 0.0)) for day in figures["days"]],
    }  # fmt: skip


def _reliability(sums) -> dict:
    tools: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, count in sums["tool_calls"].count.items():
        tool, outcome = key.split(SEP)
        tools[tool][outcome] += count
    deployments: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, count in sums["llm_calls"].count.items():
        deployment, outcome = key.split(SEP)
        deployments[deployment][outcome] += count
    for deployment, count in sums["llm_fallbacks"].count.items():
        deployments[deployment]["fallbacks"] += count
    return {
        "tool_errors": sorted(
            (tool, sum(o.values()), rate(o["error"], sum(o.values()))) for tool, o in tools.items()
        ),
        "deployments": sorted(
            (name, o["ok"] + o["error"] + o["refused"], rate(o["error"], o["ok"] + o["error"]),
             rate(o["fallbacks"], o["ok"]), o["refused"])
            for name, o in deployments.items()
        ),
    }  # fmt: skip


def budget_use(inbox: Inbox | None) -> list[dict]:
    shown = Budget.objects.filter(enabled=True).select_related("ai_agent", "inbox")
    if inbox is not None:
        shown = shown.filter(Q(inbox=inbox) | Q(ai_agent__inboxes=inbox) | Q(scope=Budget.Scope.CUSTOMER, inbox=None))
    return [
        {"budget": budget, **row} for budget in shown.distinct() for row in budgets.usage_now(budget)
    ]  # fmt: skip


def money(value: float | Decimal | None) -> str:
    return "—" if value is None else f"${value:,.4f}" if value < 1 else f"${value:,.2f}"
