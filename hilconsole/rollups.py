"""Daily rollups: each day's figures per inbox (`DailyMetric`), recomputed from the raw rows.

A refresh recomputes whole days, so a day's rows always equal what its raw rows say: today and
yesterday every time (conversations move on, and a call that started before midnight lands
after it), and any earlier day that received a row since the last refresh (a call recorded late
by a slow or retried worker, an import). Figures are bucketed by when their event happened
(a turn by its start, a claim by when it was claimed), so a change today never rewrites an old
day except through such a late row.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.postgres.fields import ArrayField
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from agents.models import LLMCall, PipelineRun, ToolCall
from conversations.models import Conversation
from hilconsole.models import DailyMetric, RollupState
from reviews.models import ReviewTask

# Histogram bounds, in seconds: an AI turn, and a person's wait (claim, first reply, decision).
TURN_BOUNDS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]
WAIT_BOUNDS = [10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600]
BOUNDS = {
    "ai_turn_seconds": TURN_BOUNDS,
    "claim_seconds": WAIT_BOUNDS,
    "first_response_seconds": WAIT_BOUNDS,
    "decision_seconds": WAIT_BOUNDS,
}
# Insert-only tables whose new rows may belong to an earlier day.
LATE_SOURCES = {"llm_calls": LLMCall, "tool_calls": ToolCall}
# A day counts as complete once a refresh ran this long after it ended.
SETTLED_AFTER = timedelta(minutes=10)
SEP = "\t"  # between the parts of a compound key (deployment, outcome)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def seconds_between(later: str, earlier: str) -> Func:
    return Func(F(later) - F(earlier), template="EXTRACT(EPOCH FROM (%(expressions)s))", output_field=FloatField())


class DayRows:
    """The rows of one day being computed, by (inbox, metric, key)."""

    def __init__(self, day: date):
        self.day = day
        self.rows: dict[tuple, DailyMetric] = {}

    def add(self, inbox_id, metric: str, key: str, count: int, total: float = 0.0) -> DailyMetric:
        row = self.rows.get((inbox_id, metric, key))
        if row is None:
            bounds = BOUNDS.get(metric)
            row = DailyMetric(day=self.day, inbox_id=inbox_id, metric=metric, key=key[:300],
                              buckets=[0] * (len(bounds) + 1) if bounds else [])  # fmt: skip
            self.rows[(inbox_id, metric, key)] = row
        row.count += count
        row.total += total or 0.0
        return row

    def histogram(self, queryset: QuerySet, metric: str, value, inbox: str, key: str | None = None) -> None:
        """Count `value` (seconds) into the metric's buckets, per inbox (and key)."""
        bounds = Value(BOUNDS[metric], output_field=ArrayField(FloatField()))
        groups = [inbox, "bucket", *([key] if key else [])]
        rows = (
            queryset.annotate(seconds=value)
            .filter(seconds__isnull=False)
            .annotate(bucket=Func(F("seconds"), bounds, function="width_bucket", output_field=IntegerField()))
            .values(*groups)
            .annotate(n=Count("pk"), total=Sum("seconds"))
        )
        for row in rows:
            self.add(row[inbox], metric, str(row[key]) if key else "", row["n"], row["total"]).buckets[
                row["bucket"]
            ] += row["n"]


def day_rows(day: date) -> list[DailyMetric]:
    """Every figure of the day, computed from the raw rows (unsaved)."""
    start, end = day_bounds(day)
    rows = DayRows(day)
    _turns(rows, start, end)
    _conversations(rows, start, end)
    _reviews(rows, start, end)
    _llm_calls(rows, start, end)
    _tool_calls(rows, start, end)
    return list(rows.rows.values())


def _turns(rows: DayRows, start, end) -> None:
    inbox = "conversation__inbox_id"
    runs = PipelineRun.objects.filter(started_at__gte=start, started_at__lt=end)
    for row in runs.values(inbox, "status").annotate(n=Count("pk")):
        rows.add(row[inbox], "ai_turns", row["status"], row["n"])
    handed = runs.filter(status=PipelineRun.Status.HANDED_OVER)
    for row in handed.values(inbox, "reason").annotate(n=Count("pk")):
        rows.add(row[inbox], "handovers", row["reason"] or "unknown", row["n"])
    ended = runs.exclude(finished_at=None)
    rows.histogram(ended, "ai_turn_seconds", seconds_between("finished_at", "started_at"), inbox)


def _conversations(rows: DayRows, start, end) -> None:
    conversations = Conversation.objects.all()
    span = {"gte": start, "lt": end}
    by_ai = conversations.filter(status=Conversation.Status.FINISHED, handover_at=None,
                                 **{f"finished_at__{op}": at for op, at in span.items()})  # fmt: skip
    for row in by_ai.values("inbox_id").annotate(n=Count("pk")):
        rows.add(row["inbox_id"], "closed", "ai", row["n"])
    by_people = conversations.filter(**{f"resolved_at__{op}": at for op, at in span.items()})
    for row in by_people.values("inbox_id").annotate(n=Count("pk")):
        rows.add(row["inbox_id"], "closed", "human", row["n"])
    claimed = conversations.filter(pending_human_at__lte=F("human_active_at"),
                                   **{f"human_active_at__{op}": at for op, at in span.items()})  # fmt: skip
    rows.histogram(claimed, "claim_seconds", seconds_between("human_active_at", "pending_human_at"), "inbox_id")
    answered = conversations.filter(**{f"first_response_at__{op}": at for op, at in span.items()})
    rows.histogram(answered, "first_response_seconds", Cast("first_response_seconds", FloatField()), "inbox_id")
    rated = conversations.exclude(csat_rating=None).filter(**{f"csat_at__{op}": at for op, at in span.items()})
    for row in rated.values("inbox_id").annotate(n=Count("pk"), total=Sum("csat_rating")):
        rows.add(row["inbox_id"], "csat", "", row["n"], float(row["total"]))


def _reviews(rows: DayRows, start, end) -> None:
    decided = ReviewTask.objects.filter(decided_at__gte=start, decided_at__lt=end).annotate(
        what=Coalesce("tool__name", "kind")
    )
    rows.histogram(decided, "decision_seconds", seconds_between("decided_at", "created_at"), "inbox_id", "what")


def _llm_calls(rows: DayRows, start, end) -> None:
    inbox = "conversation__inbox_id"
    calls = LLMCall.objects.filter(created_at__gte=start, created_at__lt=end).annotate(
        deployment=Case(When(deployment_model="", then=Coalesce("profile__name", Value("—"))),
                        default=F("deployment_model")),
        fell_back=Case(When(Q(outcome=LLMCall.Outcome.OK) & ~Q(fallbacks=[]), then=1), default=0,
                       output_field=IntegerField()),
    )  # fmt: skip
    for row in calls.values(inbox, "deployment", "outcome").annotate(
        n=Count("pk"), cost=Sum("cost_usd"), fell_back=Sum("fell_back")
    ):
        rows.add(row[inbox], "llm_calls", f"{row['deployment']}{SEP}{row['outcome']}", row["n"], float(row["cost"]))
        if row["fell_back"]:
            rows.add(row[inbox], "llm_fallbacks", row["deployment"], row["fell_back"])
    for row in calls.values(inbox, "agent_id").annotate(n=Count("pk"), cost=Sum("cost_usd")):
        rows.add(row[inbox], "llm_cost_agent", str(row["agent_id"] or ""), row["n"], float(row["cost"]))


def _tool_calls(rows: DayRows, start, end) -> None:
    inbox = "conversation__inbox_id"
    calls = ToolCall.objects.filter(created_at__gte=start, created_at__lt=end).annotate(
        outcome=Case(When(error="", then=Value("ok")), default=Value("error"))
    )
    for row in calls.values(inbox, "tool__name", "outcome").annotate(n=Count("pk")):
        rows.add(row[inbox], "tool_calls", f"{row['tool__name']}{SEP}{row['outcome']}", row["n"])


# Refreshing -----------------------------------------------------------------------------------


@dataclass
class Refreshed:
    days: list[date]
    rows: int


def rollups_refresh(days: Iterable[date] | None = None) -> Refreshed:
    """Recompute today, yesterday, and every day that received late rows (or exactly `days`)."""
    now = timezone.now()
    today = now.astimezone(UTC).date()
    states = {source: RollupState.objects.get_or_create(source=source)[0] for source in LATE_SOURCES}
    seen = {source: model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            for source, model in LATE_SOURCES.items()}  # fmt: skip
    if days is None:
        days = {today, today - timedelta(days=1)} | _days_with_late_rows(states)
    days = sorted(set(days))
    written = 0
    for day in days:
        written += _replace_day(day)
    with transaction.atomic():
        for source, state in states.items():
            state.previous_id, state.last_id = state.last_id, max(state.last_id, seen[source])
            state.complete_before = (now - SETTLED_AFTER).astimezone(UTC).date()
            state.refreshed_at = now
            state.save()
    return Refreshed(days, written)


def _days_with_late_rows(states: dict[str, RollupState]) -> set[date]:
    """Days of rows added since the refresh before last (ids are taken before commit, so a row
    may become visible after a refresh that saw higher ids: the overlap finds it)."""
    days = set()
    for source, model in LATE_SOURCES.items():
        since = states[source].previous_id
        days |= set(
            model.objects.filter(pk__gt=since).annotate(day=TruncDate("created_at", tzinfo=UTC))
            .values_list("day", flat=True).distinct()
        )  # fmt: skip
    return days


@transaction.atomic
def _replace_day(day: date) -> int:
    fresh = day_rows(day)
    DailyMetric.objects.filter(day=day).delete()
    DailyMetric.objects.bulk_create(fresh)
    return len(fresh)


def rollups_complete_before() -> date | None:
    """Days before this one are final in the rollups; later ones are read from the raw rows."""
    states = RollupState.objects.filter(source__in=LATE_SOURCES).values_list("complete_before", flat=True)
    known = [day for day in states if day is not None]
    return min(known) if len(known) == len(LATE_SOURCES) else None
