"""`GET /metrics` for Prometheus, read from the database at scrape time.

Every web and worker process writes its events to PostgreSQL, so any process answering a scrape
gives the same figures: no per-process counter that resets when a process restarts. Counters are
the daily rollups of finished days plus the days still open, computed from their raw rows (a
few queries over today's rows, by index); gauges are counted as they are now.
"""

import hmac
from collections import defaultdict
from datetime import UTC, timedelta

from django.conf import settings
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from agents.llm import budgets
from agents.models import AIAgent, Budget
from conversations.models import Conversation, Inbox
from hilconsole.models import DailyMetric
from hilconsole.rollups import BOUNDS, SEP, day_rows, rollups_complete_before, rollups_refresh
from reviews.models import ReviewTask

COUNTED = ("ai_turns", "handovers", "llm_calls", "llm_cost_agent", "tool_calls", "ai_turn_seconds")


def all_time_sums() -> dict[tuple, list]:
    """(inbox id, metric, key) → [count, total, buckets] over every day so far."""
    complete = rollups_complete_before()
    if complete is None:  # never rolled up: do it once now, so old days are not read raw each time
        rollups_refresh()
        complete = rollups_complete_before()
    sums: dict[tuple, list] = defaultdict(lambda: [0, 0.0, []])
    final = DailyMetric.objects.filter(day__lt=complete, metric__in=COUNTED)
    for row in (
        final.exclude(metric="ai_turn_seconds")
        .values("inbox_id", "metric", "key")
        .annotate(n=Sum("count"), total=Sum("total"))
    ):
        _add(sums[(row["inbox_id"], row["metric"], row["key"])], row["n"], row["total"], [])
    for row in final.filter(metric="ai_turn_seconds").values("inbox_id", "key", "count", "total", "buckets"):
        _add(sums[(row["inbox_id"], "ai_turn_seconds", row["key"])], row["count"], row["total"], row["buckets"])
    today = timezone.now().astimezone(UTC).date()
    day = complete
    while day <= today:
        for row in day_rows(day):
            if row.metric in COUNTED:
                _add(sums[(row.inbox_id, row.metric, row.key)], row.count, row.total, row.buckets)
        day += timedelta(days=1)
    return sums


def _add(into: list, count: int, total: float, buckets: list[int]) -> None:
    into[0] += count
    into[1] += total or 0.0
    if buckets:
        into[2] = [a + b for a, b in zip(into[2] or [0] * len(buckets), buckets, strict=True)]


class ConsoleCollector:
    def collect(self):
        sums = all_time_sums()
        inboxes = {pk: name for pk, name in Inbox.objects.values_list("pk", "name")}
        agents = {str(pk): name for pk, name in AIAgent.objects.values_list("pk", "name")}

        def inbox_of(pk):
            return inboxes.get(pk, "") if pk else ""

        families = {
            "ai_turns": CounterMetricFamily("hil_ai_turns", "AI turns by how they ended.", labels=["inbox", "outcome"]),
            "handovers": CounterMetricFamily("hil_handovers", "Handovers of AI turns to people.",
                                             labels=["inbox", "reason"]),
            "llm_calls": CounterMetricFamily("hil_llm_calls", "Model calls through the gateway.",
                                             labels=["deployment", "outcome"]),
            "llm_cost_agent": CounterMetricFamily("hil_llm_cost_usd", "Model cost in USD.", labels=["ai_agent"]),
            "tool_calls": CounterMetricFamily("hil_tool_calls", "Tool calls.", labels=["tool", "outcome"]),
        }  # fmt: skip
        merged: dict[tuple, float] = defaultdict(float)
        histograms: dict[str, list] = defaultdict(lambda: [0, 0.0, []])
        for (inbox_id, metric, key), (count, total, buckets) in sums.items():
            if metric == "ai_turn_seconds":
                _add(histograms[inbox_of(inbox_id)], count, total, buckets)
            elif metric in ("ai_turns", "handovers"):
                merged[(metric, inbox_of(inbox_id), key)] += count
            elif metric in ("llm_calls", "tool_calls"):
                merged[(metric, *key.split(SEP))] += count
            elif metric == "llm_cost_agent":
                merged[(metric, agents.get(key, "") if key else "")] += total
        for (metric, *labels), value in sorted(merged.items()):
            families[metric].add_metric(labels, value)
        yield from families.values()
        yield _histogram(histograms)
        yield from _gauges(inboxes)


def _histogram(histograms: dict[str, list]) -> HistogramMetricFamily:
    family = HistogramMetricFamily("hil_ai_turn_seconds", "How long AI turns took.", labels=["inbox"])
    bounds = BOUNDS["ai_turn_seconds"]
    for inbox, (_, total, buckets) in sorted(histograms.items()):
        buckets = buckets or [0] * (len(bounds) + 1)
        cumulative, running = [], 0
        for bound, n in zip([*map(str, bounds), "+Inf"], buckets, strict=True):
            running += n
            cumulative.append((bound, running))
        family.add_metric([inbox], cumulative, sum_value=total)
    return family


def _gauges(inboxes: dict[int, str]):
    waiting = GaugeMetricFamily("hil_queue_waiting", "Handovers waiting for a person.", labels=["inbox"])
    queued = dict(Conversation.objects.filter(status=Conversation.Status.PENDING_HUMAN).values("inbox_id")
                  .annotate(n=Count("pk")).values_list("inbox_id", "n"))  # fmt: skip
    for pk, name in sorted(inboxes.items(), key=lambda item: item[1]):
        waiting.add_metric([name], queued.get(pk, 0))
    yield waiting
    open_tasks = GaugeMetricFamily("hil_review_tasks_open", "Review tasks waiting for a decision.", labels=["tool"])
    for row in (
        ReviewTask.objects.filter(status=ReviewTask.Status.OPEN).values("tool__name", "kind").annotate(n=Count("pk"))
    ):
        open_tasks.add_metric([row["tool__name"] or row["kind"]], row["n"])
    yield open_tasks
    used = GaugeMetricFamily("hil_budget_used_ratio", "Spent over cap in the current period.",
                             labels=["scope", "budget", "period"])  # fmt: skip
    for budget in Budget.objects.filter(enabled=True).select_related("ai_agent", "inbox"):
        for row in budgets.usage_now(budget):
            used.add_metric([_scope(budget), budget.name, row["period"]], row["ratio"])
    yield used


def _scope(budget: Budget) -> str:
    if budget.scope == Budget.Scope.AI_AGENT:
        return f"ai_agent:{budget.ai_agent}"
    if budget.scope == Budget.Scope.INBOX:
        return f"inbox:{budget.inbox}"
    return f"customer:{budget.inbox or 'every inbox'}"


registry = CollectorRegistry(auto_describe=False)
registry.register(ConsoleCollector())


def may_scrape(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    return request.user.is_authenticated and request.user.is_active and request.user.is_staff


@require_GET
def metrics_view(request):
    if not may_scrape(request):
        response = HttpResponse("Send Authorization: Bearer <METRICS_TOKEN>, or sign in as staff.\n", status=401,
                                content_type="text/plain")  # fmt: skip
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
