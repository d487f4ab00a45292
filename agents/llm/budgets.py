"""Budgets that act: the gateway holds every applicable budget's share before a model call and
charges the real cost after it; an AI agent whose last hour cost too much is paused.

A hold reserves the call's estimated cost on each budget period row with one conditional
UPDATE (`spent + reserved < cap`): PostgreSQL re-checks that condition on the newest row
version when concurrent workers update the same row, so no two calls can both take the last
room, and a cap is overshot by at most the estimate of the one call that took it. Period rows
are locked in a fixed order, so two holds never deadlock.
"""

import logging
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum, Value
from django.utils import timezone

from agents.llm.errors import LLMUnavailable
from agents.models import AIAgent, Budget, BudgetUsage, LLMCall
from conversations.audit import audit_record
from conversations.models import Conversation

logger = logging.getLogger(__name__)


class BudgetExceeded(LLMUnavailable):
    """A cap would be passed, or the AI agent is paused: no model is called. A kind of
    `LLMUnavailable`, so whatever hands over when models fail hands over here too."""

    def __init__(self, message: str, *, budget_id: int | None = None, llm_call_id: int | None = None):
        super().__init__(message, llm_call_id=llm_call_id)
        self.budget_id = budget_id


@dataclass
class Subject:
    """Whom a call is for: what decides which budgets apply."""

    agent_id: int | None = None
    inbox_id: int | None = None
    customer_id: int | None = None
    conversation_id: int | None = None
    time_zone: str = "UTC"


@dataclass
class Hold:
    """The reservations of one call, released by `charge()`."""

    profile: str
    subject: Subject
    estimate: Decimal = Decimal(0)
    usage_ids: list[int] = field(default_factory=list)


# What applies ---------------------------------------------------------------------------------

_view: tuple[float, list[Budget], dict[int, tuple[datetime | None, Decimal | None]]] | None = None


def _current() -> tuple[list[Budget], dict[int, tuple[datetime | None, Decimal | None]]]:
    """The enabled budgets and each agent's (paused_at, breaker), re-read like model profiles
    (every LLM_PROFILE_REFRESH_SECONDS): a call costs no query when nothing is budgeted."""
    global _view
    if _view is None or time.monotonic() - _view[0] >= settings.LLM_PROFILE_REFRESH_SECONDS:
        budgets = list(Budget.objects.filter(enabled=True).select_related("cheaper_profile"))
        agents = {pk: (paused, breaker) for pk, paused, breaker in
                  AIAgent.objects.values_list("pk", "paused_at", "breaker_usd_per_hour")}  # fmt: skip
        _view = (time.monotonic(), budgets, agents)
    return _view[1], _view[2]


def forget() -> None:
    """Re-read budgets and paused agents on the next call in this process."""
    global _view
    _view = None


def subject_of(conversation_id: int | None, agent_id: int | None) -> Subject:
    if conversation_id is None:
        return Subject(agent_id=agent_id)
    row = (
        Conversation.objects.filter(pk=conversation_id)
        .values_list("inbox_id", "customer_id", "inbox__time_zone", "inbox__ai_agent_id")
        .first()
    )
    if row is None:
        return Subject(agent_id=agent_id)
    inbox_id, customer_id, zone, inbox_agent_id = row
    return Subject(agent_id or inbox_agent_id, inbox_id, customer_id, conversation_id, zone or "UTC")


def applicable(budgets: list[Budget], subject: Subject) -> list[Budget]:
    def applies(budget: Budget) -> bool:
        if budget.scope == Budget.Scope.AI_AGENT:
            return subject.agent_id is not None and budget.ai_agent_id == subject.agent_id
        if budget.scope == Budget.Scope.INBOX:
            return subject.inbox_id is not None and budget.inbox_id == subject.inbox_id
        return subject.customer_id is not None and budget.inbox_id in (None, subject.inbox_id)

    return [budget for budget in budgets if applies(budget)]


# Periods --------------------------------------------------------------------------------------


def period_starts(now: datetime, zone_name: str) -> dict[str, datetime]:
    """The start of the current hour, day and month, in the zone where they roll over."""
    local = timezone.localtime(now, zoneinfo.ZoneInfo(zone_name))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return {"hour": local.replace(minute=0, second=0, microsecond=0), "day": day, "month": day.replace(day=1)}


def zone_of(budget: Budget, subject: Subject) -> str:
    return settings.TIME_ZONE if budget.scope == Budget.Scope.AI_AGENT else subject.time_zone


def subject_key(budget: Budget, subject: Subject) -> int:
    return subject.customer_id if budget.scope == Budget.Scope.CUSTOMER else 0


# Holding and charging -------------------------------------------------------------------------


def hold(
    profile: str,
    *,
    conversation_id: int | None,
    agent_id: int | None,
    estimate: Callable[[str], tuple[Decimal, int]],
) -> Hold:
    """Reserve the call's estimated cost on every budget that applies, or raise BudgetExceeded.

    `estimate(profile)` gives (USD, prompt tokens) for a call through that profile. A budget
    that switches to a cheaper profile when exceeded makes the call go through that profile,
    no longer held by that budget (the others still apply).
    """
    budgets, agents = _current()
    paused_at, _ = agents.get(agent_id, (None, None))
    if paused_at is not None:
        raise BudgetExceeded("The AI agent is paused by its cost circuit breaker.")
    if not budgets:
        return Hold(profile, Subject(agent_id=agent_id, conversation_id=conversation_id))
    subject = subject_of(conversation_id, agent_id)
    exempt: set[int] = set()
    while True:
        cost, prompt_tokens = estimate(profile)
        held = applicable([budget for budget in budgets if budget.pk not in exempt], subject)
        try:
            return _reserve(Hold(profile, subject, cost), held, prompt_tokens)
        except BudgetExceeded as refusal:
            budget = next(b for b in held if b.pk == refusal.budget_id)
            cheaper = budget.cheaper_profile
            if budget.on_exceeded != Budget.OnExceeded.CHEAPER_PROFILE or cheaper is None or cheaper.name == profile:
                raise
            exempt.add(budget.pk)
            profile = cheaper.name


def _reserve(held: Hold, budgets: list[Budget], prompt_tokens: int) -> Hold:
    now = timezone.now()
    rows = []
    for budget in budgets:
        if budget.conversation_tokens is not None and held.subject.conversation_id is not None:
            used = conversation_tokens_used(held.subject.conversation_id)
            if used + prompt_tokens > budget.conversation_tokens:
                raise BudgetExceeded(f"{budget}: {used} tokens used in this conversation.", budget_id=budget.pk)
        starts = period_starts(now, zone_of(budget, held.subject))
        rows += [(budget, subject_key(budget, held.subject), period, starts[period], cap)
                 for period, cap in budget.caps().items()]  # fmt: skip
    if not rows:
        return held
    # One order for every worker: two holds on the same rows queue instead of deadlocking.
    rows.sort(key=lambda row: (row[0].pk, row[1], BudgetUsage.PERIODS.index(row[2])))
    with transaction.atomic():
        BudgetUsage.objects.bulk_create(
            [BudgetUsage(budget=b, subject_id=s, period=p, starts_at=at) for b, s, p, at, _ in rows],
            ignore_conflicts=True,
        )
        for budget, subject_id, period, starts_at, cap in rows:
            usage = BudgetUsage.objects.filter(budget=budget, subject_id=subject_id, period=period, starts_at=starts_at)
            taken = usage.filter(spent_usd__lt=Value(cap) - F("reserved_usd")).update(
                reserved_usd=F("reserved_usd") + held.estimate, calls=F("calls") + 1
            )
            if not taken:  # the transaction rolls back this call's other reservations
                raise BudgetExceeded(f"{budget}: its {period}ly cap of {cap} USD is used up.", budget_id=budget.pk)
            held.usage_ids.append(usage.values_list("pk", flat=True).get())
    return held


def charge(held: Hold, cost: Decimal) -> None:
    """The call ended: its estimate leaves the reservations and its real cost is spent."""
    if held.usage_ids:
        # In id order, like the holds, so concurrent charges and holds never deadlock.
        with transaction.atomic():
            usages = BudgetUsage.objects.filter(pk__in=sorted(held.usage_ids))
            list(usages.select_for_update().order_by("pk").values_list("pk"))
            usages.update(reserved_usd=F("reserved_usd") - held.estimate, spent_usd=F("spent_usd") + cost)
        _mark_alerts(held.usage_ids)
    if held.subject.agent_id is not None and cost > 0:
        breaker_check(held.subject.agent_id)


def _mark_alerts(usage_ids: list[int]) -> None:
    for usage in BudgetUsage.objects.filter(pk__in=usage_ids, alerted_at=None).select_related("budget"):
        cap = usage.budget.caps().get(usage.period)
        if cap and usage.spent_usd >= cap * Decimal(str(usage.budget.alert_ratio)):
            if BudgetUsage.objects.filter(pk=usage.pk, alerted_at=None).update(alerted_at=timezone.now()):
                logger.warning("Budget %s used %s of %s USD this %s", usage.budget, usage.spent_usd, cap, usage.period)


def conversation_tokens_used(conversation_id: int) -> int:
    tokens = LLMCall.objects.filter(conversation_id=conversation_id).aggregate(
        used=Sum(F("prompt_tokens") + F("completion_tokens"))
    )
    return tokens["used"] or 0


# The cost circuit breaker ---------------------------------------------------------------------


def breaker_check(agent_id: int) -> None:
    """Pause the agent when its calls of the last hour cost more than its breaker allows."""
    _, agents = _current()
    paused_at, limit = agents.get(agent_id, (None, None))
    if limit is None or paused_at is not None:
        return
    spent = last_hour_cost(agent_id)
    if spent > limit:
        agent_pause(agent_id, actor="cost circuit breaker",
                    reason=f"Its model calls cost {spent:.4f} USD in the last hour (limit {limit} USD).")  # fmt: skip


def last_hour_cost(agent_id: int) -> Decimal:
    since = timezone.now() - timedelta(hours=1)
    spent = LLMCall.objects.filter(agent_id=agent_id, created_at__gte=since).aggregate(spent=Sum("cost_usd"))
    return spent["spent"] or Decimal(0)


@transaction.atomic
def agent_pause(agent_id: int, *, actor, reason: str) -> bool:
    """Pause the AI agent: its inboxes hand every new turn to people. False if already paused."""
    agent = AIAgent.objects.select_for_update().get(pk=agent_id)
    if agent.paused_at is not None:
        return False
    agent.paused_at, agent.paused_reason = timezone.now(), reason[:300]
    agent.save(update_fields=["paused_at", "paused_reason", "updated_at"])
    audit_record(actor=actor, action="ai_agent.paused", target=agent, after={"reason": agent.paused_reason})
    logger.warning("AI agent %s paused: %s", agent, reason)
    transaction.on_commit(forget)
    return True


@transaction.atomic
def agent_resume(agent_id: int, *, actor) -> bool:
    """Let the paused AI agent answer again. False if it was not paused."""
    agent = AIAgent.objects.select_for_update().get(pk=agent_id)
    if agent.paused_at is None:
        return False
    before = {"paused_at": agent.paused_at.isoformat(), "reason": agent.paused_reason}
    agent.paused_at, agent.paused_reason = None, ""
    agent.save(update_fields=["paused_at", "paused_reason", "updated_at"])
    audit_record(actor=actor, action="ai_agent.resumed", target=agent, before=before)
    transaction.on_commit(forget)
    return True


def paused_agents(inbox_ids=None):
    """Paused AI agents (answering one of `inbox_ids`, when given): the banners read this."""
    agents = AIAgent.objects.exclude(paused_at=None)
    if inbox_ids is not None:
        agents = agents.filter(inboxes__in=inbox_ids).distinct()
    return agents.order_by("name")


def usage_now(budget: Budget) -> list[dict]:
    """Each cap's use in its current period (for a budget of each customer: the top spender)."""
    rows = []
    for period, cap in budget.caps().items():
        zone = settings.TIME_ZONE if budget.scope == Budget.Scope.AI_AGENT else _zone_of_inbox(budget)
        starts = period_starts(timezone.now(), zone)[period]
        spent = (
            BudgetUsage.objects.filter(budget=budget, period=period, starts_at=starts)
            .order_by("-spent_usd")
            .values_list("spent_usd", flat=True)
            .first()
        ) or Decimal(0)
        rows.append({"period": period, "cap": cap, "spent": spent, "ratio": float(spent / cap) if cap else 0.0,
                     "alert": float(spent) >= float(cap) * budget.alert_ratio})  # fmt: skip
    return rows


def _zone_of_inbox(budget: Budget) -> str:
    return budget.inbox.time_zone if budget.inbox_id else settings.TIME_ZONE
