"""The desk's writes: presence, claims and assignment, replies, service levels.

This app owns HumanAgent and CannedResponse rows and decides who may do what on the desk;
conversation rows change only through `conversations.services`. Desk-wide locks are taken in
one order, the agent's HumanAgent row before the conversation row, so two services can never
wait on each other.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Value
from django.utils import timezone
from guardian.shortcuts import assign_perm

from conversations import services as conversations
from conversations.audit import audit_record
from conversations.errors import AlreadyClaimed, IllegalTransition
from conversations.events import desk_conversation_group
from conversations.models import AutoAssignment, Conversation, Message, person_name
from hilconsole.broadcast import broadcast_on_commit
from hilconsole.errors import DomainError
from reviews import selectors
from reviews.events import escalation_event, message_added_event
from reviews.models import CannedResponse, HumanAgent
from reviews.roles import user_is_supervisor

S = Conversation.Status
Presence = HumanAgent.Status


class AtCapacity(DomainError):
    status = 409
    code = "at_capacity"


class MissingSkills(DomainError):
    status = 409
    code = "missing_skills"


class NotYours(DomainError):
    status = 403
    code = "not_yours"


class NoSuchColleague(DomainError):
    status = 404
    code = "not_found"


NO_SUCH_COLLEAGUE = "No such colleague works this inbox."


class NothingToSuggest(DomainError):
    status = 409
    code = "no_suggestion"


def human_agent_ensure(user) -> HumanAgent:
    agent, _ = HumanAgent.objects.select_related("user").get_or_create(user=user)
    return agent


# Presence ----------------------------------------------------------------------------------


def human_agent_heartbeat(user) -> HumanAgent:
    """A desk socket of `user` is open: seen now, and back online unless they chose a status."""
    now = timezone.now()
    # The common case, an online agent, is one UPDATE with no lock held.
    if HumanAgent.objects.filter(user=user, status=Presence.ONLINE).update(last_seen_at=now):
        return HumanAgent.objects.get(user=user)
    agent = human_agent_ensure(user)
    with transaction.atomic():
        agent = HumanAgent.objects.select_for_update().get(pk=agent.pk)
        agent.last_seen_at = now
        agent.save(update_fields=["last_seen_at"])
        if not agent.status_chosen:
            _set_presence(agent, Presence.ONLINE, actor=user)
    return agent


def human_agent_set_status(user, status: str) -> HumanAgent:
    """The agent picks a status; away and offline stay until they pick online again."""
    if status not in Presence.values:
        raise DomainError(f"Choose one of {', '.join(Presence.values)}.")
    agent = human_agent_ensure(user)
    with transaction.atomic():
        agent = HumanAgent.objects.select_for_update().get(pk=agent.pk)
        agent.status_chosen = status != Presence.ONLINE
        agent.last_seen_at = timezone.now()
        agent.save(update_fields=["status_chosen", "last_seen_at"])
        _set_presence(agent, status, actor=user)
    return agent


def _set_presence(agent: HumanAgent, status: str, *, actor) -> None:
    """Call holding the agent's row lock."""
    if agent.status == status:
        return
    before = agent.status
    agent.status = status
    agent.offline_since = timezone.now() if status == Presence.OFFLINE else None
    agent.save(update_fields=["status", "offline_since"])
    audit_record(
        actor=actor, action="human_agent.presence", target=agent, before={"status": before}, after={"status": status}
    )
    if status == Presence.ONLINE:
        # Someone came back: handovers waiting for an agent may now be assigned to them.
        _request_assignment_for(agent.user)


def presence_sweep(now=None) -> dict[str, int]:
    """Silent desks go away, then offline; an offline agent's conversations go back to the
    queue once their inbox's grace period has passed. Run by Celery beat."""
    now = now or timezone.now()
    silent = Q(last_seen_at__lt=now - timedelta(seconds=settings.DESK_AWAY_AFTER_SECONDS)) | Q(last_seen_at=None)
    gone = Q(last_seen_at__lt=now - timedelta(seconds=settings.DESK_OFFLINE_AFTER_SECONDS)) | Q(last_seen_at=None)
    went_away = _move_presence(HumanAgent.objects.filter(silent, status=Presence.ONLINE), Presence.AWAY)
    # Away by choice counts too once the desk is gone: "away" promises a return to an open desk,
    # and an agent who closed it must not keep their customers waiting indefinitely.
    went_offline = _move_presence(HumanAgent.objects.filter(gone, status=Presence.AWAY), Presence.OFFLINE)
    return {"away": went_away, "offline": went_offline, "requeued": _requeue_from_offline_agents(now)}


def _move_presence(agents, status: str) -> int:
    moved = 0
    for agent_id in list(agents.values_list("pk", flat=True)):
        with transaction.atomic():
            # The whole condition is re-checked under the lock: a heartbeat may have arrived since.
            agent = agents.select_for_update().filter(pk=agent_id).first()
            if agent is not None:
                if status == Presence.OFFLINE and agent.status_chosen:
                    # Their choice lapsed with their desk: opening it again brings them online.
                    agent.status_chosen = False
                    agent.save(update_fields=["status_chosen"])
                _set_presence(agent, status, actor="system")
                moved += 1
    return moved


def _requeue_from_offline_agents(now) -> int:
    grace = ExpressionWrapper(
        F("inbox__offline_grace_seconds") * Value(timedelta(seconds=1)), output_field=DurationField()
    )
    overdue = (
        Conversation.objects.filter(status=S.HUMAN_ACTIVE, assignee__human_agent__status=Presence.OFFLINE)
        .annotate(grace=grace)
        # No offline_since: offline since before they ever came online.
        .filter(
            Q(assignee__human_agent__offline_since__lte=now - F("grace")) | Q(assignee__human_agent__offline_since=None)
        )
        .select_related("assignee")
    )
    requeued = 0
    for conversation in overdue:
        if conversations.conversation_requeue_from_absent_agent(conversation.pk, agent=conversation.assignee):
            requeued += 1
    return requeued


# Claims and assignment ---------------------------------------------------------------------


def handover_claim(user, conversation_id: int) -> Conversation:
    """The agent takes a waiting handover of their inboxes; exactly one claimant wins.

    Raises AlreadyClaimed (naming the winner), AtCapacity, MissingSkills, or Http404 outside
    the agent's inboxes.
    """
    handover = selectors.access_handover(user, conversation_id)
    if handover.status == S.HUMAN_ACTIVE and handover.assignee_id:
        # Tell the loser who won before anything else; the locked claim below re-checks it.
        raise AlreadyClaimed(handover.assignee_name, by_self=handover.assignee_id == user.pk)
    with transaction.atomic():
        # The agent's desk profile, made on their first claim, and locked (see _assign_locked).
        agent, _ = HumanAgent.objects.select_for_update().get_or_create(user=user)
        agent.user = user  # the request's own: no second read of the row
        if not agent.has_skills(handover.required_skills) and not user_is_supervisor(user):
            needed = ", ".join(sorted(set(handover.required_skills) - set(agent.skills)))
            raise MissingSkills(f"This handover needs the skills {needed}, which your profile does not list.")
        return _assign_locked(agent, conversation_id)


def _assign(agent: HumanAgent, conversation_id: int, *, assigned_by=None) -> Conversation:
    with transaction.atomic():
        agent = HumanAgent.objects.select_for_update().select_related("user").get(pk=agent.pk)
        return _assign_locked(agent, conversation_id, assigned_by=assigned_by)


def _assign_locked(agent: HumanAgent, conversation_id: int, *, assigned_by=None) -> Conversation:
    """Call holding the agent's row lock, inside the transaction. The lock queues the agent's
    concurrent claims (two tabs, auto-assignment), so two of them cannot both pass the capacity
    check below."""
    if selectors.open_count(agent.user) >= agent.max_concurrent:
        raise AtCapacity(_capacity_message(agent, assigned_by))
    conversation = conversations.conversation_claim(conversation_id, agent=agent.user, assigned_by=assigned_by)
    agent.last_assigned_at = timezone.now()
    agent.save(update_fields=["last_assigned_at"])
    return conversation


def _capacity_message(agent: HumanAgent, assigned_by) -> str:
    if assigned_by is None:
        return (
            f"You already have {agent.max_concurrent} open conversations, your limit. "
            "Resolve or release one before you claim another."
        )
    return f"{agent.name} already has {agent.max_concurrent} open conversations, their limit."


def handover_auto_assign(conversation_id: int):
    """Give a waiting handover to the next eligible online agent, per its inbox's mode.

    Returns the user it went to, or None (mode off, nobody free, or no longer waiting).
    """
    conversation = Conversation.objects.select_related("inbox").filter(pk=conversation_id).first()
    if conversation is None or conversation.status != S.PENDING_HUMAN:
        return None
    if conversation.inbox.auto_assignment == AutoAssignment.OFF:
        return None
    for agent in assignment_candidates(conversation):
        try:
            _assign(agent, conversation_id, assigned_by="auto-assignment")
        except AtCapacity:
            continue  # filled up since the candidates were read: the next one may be free
        except IllegalTransition:
            return None  # claimed by hand meanwhile, or left the queue
        return agent.user
    return None


def assignment_candidates(conversation: Conversation) -> list[HumanAgent]:
    """Online agents of the inbox with the skills and free capacity, in the inbox's order."""
    people = selectors.people_working(conversation.inbox)
    open_conversations = Count(
        "user__assigned_conversations", filter=Q(user__assigned_conversations__status=S.HUMAN_ACTIVE)
    )
    agents = (
        HumanAgent.objects.filter(
            user__in=people, status=Presence.ONLINE, skills__contains=conversation.required_skills
        )
        # Whoever released it gave it back for a reason: it must not bounce straight back to them.
        .exclude(user_id=conversation.released_by_id)
        .annotate(open_count=open_conversations)
        .filter(open_count__lt=F("max_concurrent"))
        .select_related("user")
    )
    longest_idle = F("last_assigned_at").asc(nulls_first=True)
    if conversation.inbox.auto_assignment == AutoAssignment.BALANCED:
        return list(agents.order_by("open_count", longest_idle, "pk"))
    return list(agents.order_by(longest_idle, "pk"))


def assign_waiting(inbox_id: int, limit: int = 50) -> int:
    """Capacity freed up somewhere: assign the inbox's waiting handovers, most urgent first."""
    waiting = Conversation.objects.filter(inbox_id=inbox_id, status=S.PENDING_HUMAN, inbox__auto_assignment__in=[
        AutoAssignment.ROUND_ROBIN, AutoAssignment.BALANCED,
    ]).order_by("-priority", "pending_human_at", "pk")  # fmt: skip
    return sum(
        1 for conversation_id in waiting.values_list("pk", flat=True)[:limit] if handover_auto_assign(conversation_id)
    )


def assignment_sweep(now=None, limit: int = 200) -> int:
    """Hand out handovers of auto-assigning inboxes that waited longer than they should have.

    Assignment normally follows the queueing at once; this catches a request lost after commit
    (a process that died, a broker error) and capacity that freed up without a request. Run by
    beat; oldest first, so a long wait is never starved by newer ones.
    """
    now = now or timezone.now()
    overdue = Conversation.objects.filter(
        status=S.PENDING_HUMAN,
        pending_human_at__lte=now - timedelta(seconds=settings.DESK_ASSIGNMENT_RETRY_SECONDS),
        inbox__auto_assignment__in=[AutoAssignment.ROUND_ROBIN, AutoAssignment.BALANCED],
    ).order_by("-priority", "pending_human_at", "pk")
    return sum(1 for pk in overdue.values_list("pk", flat=True)[:limit] if handover_auto_assign(pk))


def _request_assignment_for(user) -> None:
    """Call inside a transaction: once committed, the user's auto-assigning inboxes hand out work."""
    from reviews.tasks import assign_waiting as assign_waiting_task

    inbox_ids = list(
        selectors.inboxes_for(user).exclude(auto_assignment=AutoAssignment.OFF).values_list("pk", flat=True)
    )
    for inbox_id in inbox_ids:
        # Robust: a broker error after commit must not fail the committed action; the assignment
        # sweep hands out what waits too long.
        transaction.on_commit(lambda inbox_id=inbox_id: assign_waiting_task.delay(inbox_id), robust=True)


# Working a conversation --------------------------------------------------------------------


def _owned(user, conversation_id: int) -> Conversation:
    """The conversation, if the user may act on it: its assignee, or a supervisor of its inbox."""
    conversation = selectors.access_conversation(user, conversation_id)
    if conversation.assignee_id != user.pk and not user_is_supervisor(user):
        owner = person_name(conversation.assignee) if conversation.assignee else "nobody"
        raise NotYours(f"This conversation is {owner}'s; claim it from the queue to work on it.")
    return conversation


def handover_release(user, conversation_id: int) -> Conversation:
    seen = _owned(user, conversation_id)
    with transaction.atomic():
        conversation = conversations.conversation_release(conversation_id, agent=user, assignee_id=seen.assignee_id)
        _request_assignment_for(user)
    return conversation


def handover_transfer_to_skill(user, conversation_id: int, skill: str) -> Conversation:
    seen = _owned(user, conversation_id)
    with transaction.atomic():
        conversation = conversations.conversation_release(
            conversation_id, agent=user, required_skills=[skill], assignee_id=seen.assignee_id
        )
        conversations.message_post_from_human(
            conversation_id,
            agent=user,
            content=f"{person_name(user)} transferred this conversation to {skill}.",
            internal=True,
        )
        _request_assignment_for(user)
    return conversation


def handover_transfer_to_agent(user, conversation_id: int, colleague) -> Conversation:
    conversation = _owned(user, conversation_id)
    if not selectors.people_working(conversation.inbox).filter(pk=colleague.pk).exists():
        # Not "Sam does not work this inbox": the desk never names people outside the inbox.
        raise NoSuchColleague(NO_SUCH_COLLEAGUE)
    target = human_agent_ensure(colleague)
    with transaction.atomic():
        target = HumanAgent.objects.select_for_update().select_related("user").get(pk=target.pk)
        if selectors.open_count(colleague) >= target.max_concurrent:
            raise AtCapacity(f"{target.name} already has {target.max_concurrent} open conversations, their limit.")
        conversation = conversations.conversation_transfer(
            conversation_id, agent=user, to=colleague, assignee_id=conversation.assignee_id
        )
        conversations.message_post_from_human(
            conversation_id,
            agent=user,
            content=f"{person_name(user)} transferred this conversation to {target.name}.",
            internal=True,
        )
        _request_assignment_for(user)
    return conversation


def handover_resolve(user, conversation_id: int, *, seen_through: int) -> Conversation:
    """Resolve, having read the transcript up to message `seen_through` (refused if the
    customer wrote after it)."""
    seen = _owned(user, conversation_id)
    with transaction.atomic():
        conversation = conversations.conversation_resolve(
            conversation_id, agent=user, seen_through=seen_through, assignee_id=seen.assignee_id
        )
        _request_assignment_for(user)
    return conversation


def handover_return_to_ai(user, conversation_id: int) -> Conversation:
    seen = _owned(user, conversation_id)
    with transaction.atomic():
        conversation = conversations.conversation_return_to_ai(
            conversation_id, agent=user, assignee_id=seen.assignee_id
        )
        _request_assignment_for(user)
    return conversation


def reply_send(user, conversation_id: int, content: str, *, internal: bool = False) -> Message:
    """A reply the customer sees at once, or an internal note for colleagues only."""
    seen = selectors.access_conversation(user, conversation_id) if internal else _owned(user, conversation_id)
    with transaction.atomic():
        message = conversations.message_post_from_human(
            conversation_id, agent=user, content=content, internal=internal, assignee_id=seen.assignee_id
        )
        if internal:
            # Notes never reach the widget's group; the desk's open views get them here.
            broadcast_on_commit(desk_conversation_group(conversation_id), message_added_event(message))
    return message


def human_agent_typing(user, conversation_id: int, active: bool) -> None:
    conversations.conversation_typing(conversation_id, sender="human", author_name=person_name(user), active=active)


def reply_suggest(conversation: Conversation) -> str:
    """A reply drafted from the knowledge base for the customer's latest words; the agent edits it."""
    from agents.knowledge.search import search
    from agents.llm import gateway

    question = selectors.latest_customer_words(conversation)
    if not question:
        raise NothingToSuggest("The customer has not written anything to answer yet.")
    passages = search(question, inbox_id=conversation.inbox_id, limit=4)
    if not passages:
        raise NothingToSuggest("The knowledge base has nothing on this question; write the reply yourself.")
    try:
        completion = gateway.answer(question, passages, links=gateway.Links(conversation_id=conversation.pk))
    except gateway.LLMUnavailable:
        raise NothingToSuggest("No model could draft a reply just now; write the reply yourself.")
    return (completion.content or "").strip()


# Service levels ----------------------------------------------------------------------------


def sla_sweep(now=None) -> list[int]:
    """Escalate handovers waiting longer than their inbox allows; tell the supervisors. Run by beat."""
    now = now or timezone.now()
    threshold = ExpressionWrapper(
        F("inbox__sla_claim_seconds") * Value(timedelta(seconds=1)), output_field=DurationField()
    )
    overdue = (
        Conversation.objects.filter(status=S.PENDING_HUMAN, escalated_at=None)
        .annotate(threshold=threshold)
        .filter(pending_human_at__lte=now - F("threshold"))
        .values_list("pk", "inbox_id")
    )
    escalated = []
    for conversation_id, inbox_id in overdue:
        with transaction.atomic():
            if conversations.conversation_escalate(conversation_id):
                broadcast_on_commit(*escalation_event(inbox_id, conversation_id))
                escalated.append(conversation_id)
    return escalated


# Setting up the desk -----------------------------------------------------------------------


def inbox_grant(user, inbox) -> None:
    """Let `user` work `inbox` on the desk (what an admin does on the inbox's Object permissions)."""
    assign_perm(selectors.WORK_INBOX, user, inbox)


def human_agent_profile_ensure(user, *, skills: list[str], max_concurrent: int = 5) -> HumanAgent:
    """The user's desk profile, created with these settings if they have none (edits are kept)."""
    agent, _ = HumanAgent.objects.get_or_create(
        user=user, defaults={"skills": skills, "max_concurrent": max_concurrent}
    )
    return agent


def canned_response_ensure(shortcut: str, *, title: str, content: str) -> bool:
    return CannedResponse.objects.get_or_create(shortcut=shortcut, defaults={"title": title, "content": content})[1]
