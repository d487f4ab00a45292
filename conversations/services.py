"""Every write to inboxes, customers, conversations and messages.

A state change locks the conversation row (`select_for_update`), checks the current state
against `TRANSITIONS`, writes the new state with its timestamp and an audit event, and
broadcasts to the conversation's socket group once the transaction commits.
"""

import secrets
import time

from django.db import transaction
from django.utils import timezone

from conversations.audit import audit_record
from conversations.errors import IdentityRefused, IllegalTransition
from conversations.events import conversation_group, message_event, status_event, typing_event
from conversations.models import Conversation, Customer, CustomerToken, Inbox, Message, token_digest
from hilconsole.broadcast import broadcast_on_commit
from hilconsole.celery import app as celery_app

S = Conversation.Status
# The states in which the AI answers the customer's next message.
AI_STATES = (S.NEW, S.BACK_TO_AI, S.AI_PROCESSING)

TRANSITIONS: dict[str, set[str]] = {
    S.NEW: {S.AI_PROCESSING},
    S.AI_PROCESSING: {S.FINISHED, S.HANDOVER},
    S.HANDOVER: {S.PENDING_HUMAN},
    S.PENDING_HUMAN: {S.HUMAN_ACTIVE},
    S.HUMAN_ACTIVE: {S.RESOLVED, S.BACK_TO_AI},
    S.BACK_TO_AI: {S.AI_PROCESSING},
    # A customer writing again reopens the conversation; the AI takes the new turn first.
    S.FINISHED: {S.NEW},
    S.RESOLVED: {S.NEW},
}


@transaction.atomic
def inbox_ensure(*, name: str, allowed_origins: list[str], greeting: str) -> tuple[Inbox, bool]:
    """The inbox of that name, created with these settings if it does not exist yet."""
    return Inbox.objects.get_or_create(name=name, defaults={"allowed_origins": allowed_origins, "greeting": greeting})


@transaction.atomic
def inbox_assign_ai_agent(inbox_id: int, ai_agent) -> Inbox:
    """Let this AI agent answer the inbox's customers first (None: people answer everything)."""
    inbox = Inbox.objects.select_for_update().get(pk=inbox_id)
    before = inbox.ai_agent_id
    inbox.ai_agent = ai_agent
    inbox.save(update_fields=["ai_agent"])
    audit_record(actor="system", action="inbox.ai_agent_assigned", target=inbox, before={"ai_agent": before},
                 after={"ai_agent": getattr(ai_agent, "pk", None)})  # fmt: skip
    return inbox


# Widget sessions -------------------------------------------------------------------------


@transaction.atomic
def conversation_open(
    inbox: Inbox, *, identifier: str = "", identifier_hash: str = "", name: str = "", email: str = ""
) -> tuple[Conversation, str, bool]:
    """Start (or, for a verified returning customer, resume) a widget conversation.

    Returns the conversation, a new customer token (shown once, stored as a digest) and
    whether the conversation was created.
    """
    verified = _check_identity(inbox, identifier, identifier_hash)
    if verified:
        customer, _ = Customer.objects.get_or_create(inbox=inbox, identifier=identifier)
        _update_customer(customer, name=name, email=email)
    else:
        # An unverified identifier is only a claim: it never reaches someone else's history.
        attributes = {"claimed_identifier": identifier} if identifier else {}
        customer = Customer.objects.create(inbox=inbox, name=name, email=email, custom_attributes=attributes)
    conversation = verified and _open_conversation_of(customer)
    created = not conversation
    if created:
        conversation = Conversation.objects.create(inbox=inbox, customer=customer)
        audit_record(actor="customer", action="conversation.created", target=conversation, after={"status": S.NEW})
    token = secrets.token_urlsafe(32)
    CustomerToken.objects.create(customer=customer, digest=token_digest(token))
    return conversation, token, created


def _check_identity(inbox: Inbox, identifier: str, identifier_hash: str) -> bool:
    if identifier_hash and not identifier:
        raise IdentityRefused("identifier_hash was sent without the identifier it signs.")
    if identifier_hash and not inbox.verifies(identifier, identifier_hash):
        raise IdentityRefused("identifier_hash does not match the identifier.")
    if inbox.identity_verification_required and not identifier_hash:
        raise IdentityRefused("This inbox only accepts verified customers: send identifier and identifier_hash.")
    return bool(identifier_hash)


def _update_customer(customer: Customer, *, name: str, email: str) -> None:
    changed = {field: value for field, value in (("name", name), ("email", email)) if value}
    if changed:
        Customer.objects.filter(pk=customer.pk).update(**changed)


def _open_conversation_of(customer: Customer) -> Conversation | None:
    return customer.conversations.exclude(status__in=[S.FINISHED, S.RESOLVED]).order_by("-created_at").first()


def customer_for_token(token: str) -> Customer | None:
    found = CustomerToken.objects.select_related("customer__inbox").filter(digest=token_digest(token)).first()
    return found.customer if found else None


@transaction.atomic
def conversation_delete(conversation_id: int, *, actor) -> None:
    """Delete a conversation and its messages (evaluation runs clean up after themselves).
    The audit trail keeps that it existed."""
    conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
    if conversation is None:
        return
    audit_record(
        actor=actor, action="conversation.deleted", target=conversation, before={"status": conversation.status}
    )
    conversation.delete()


# Messages --------------------------------------------------------------------------------


def message_post_from_customer(
    conversation_id: int, *, content: str, client_message_id: str, request_ai_turn: bool = True
) -> tuple[Message, bool]:
    """Store a customer's message once per client id; returns (message, created).

    A new message reopens a finished or resolved conversation and asks the AI for a turn
    (unless `request_ai_turn` is off: the caller runs the turn itself, as the evaluation does).
    """
    with transaction.atomic():
        # The row lock orders concurrent posts to one conversation, so the duplicate check
        # below cannot race with an insert of the same client id.
        conversation = (
            Conversation.objects.select_for_update(of=("self",)).select_related("customer").get(pk=conversation_id)
        )
        existing = conversation.messages.filter(client_message_id=client_message_id).first()
        if existing:
            return existing, False
        if conversation.is_closed:
            _move(conversation, S.NEW, actor="customer", action="conversation.reopened")
        message = _store_message(conversation, Message.Sender.CUSTOMER, content, client_message_id=client_message_id)
        # During a running turn too: the turn answers it along with the others, or the
        # request waits until that turn is over and answers it next.
        if request_ai_turn and conversation.status in AI_STATES:
            _request_ai_turn(conversation.pk)
    return message, True


def message_post_from_ai(
    conversation_id: int, *, content: str, metadata: dict | None = None, client_message_id: str | None = None
) -> Message:
    """The AI's message. With a `client_message_id` (a run's reply key) a repeat stores nothing."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        existing = client_message_id and conversation.messages.filter(client_message_id=client_message_id).first()
        if existing:
            return existing
        return _store_message(
            conversation, Message.Sender.AI, content, metadata=metadata or {}, client_message_id=client_message_id
        )


def message_post_from_human(conversation_id: int, *, agent, content: str, internal: bool = False) -> Message:
    """A support agent's reply, or an internal note (never shown to the customer)."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if not internal and conversation.status != S.HUMAN_ACTIVE:
            raise IllegalTransition(f"Only an active human conversation takes replies (it is {conversation.status}).")
        sender = Message.Sender.NOTE if internal else Message.Sender.HUMAN
        return _store_message(conversation, sender, content, author=agent)


def message_post_system(conversation_id: int, *, content: str) -> Message:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        return _store_message(conversation, Message.Sender.SYSTEM, content)


def _store_message(conversation: Conversation, sender: str, content: str, **fields) -> Message:
    """Call holding the conversation row lock."""
    message = Message.objects.create(conversation=conversation, sender=sender, content=content, **fields)
    message.conversation = conversation
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=message.created_at)
    if sender != Message.Sender.NOTE:
        broadcast_on_commit(conversation_group(conversation.pk), message_event(message))
    return message


def _request_ai_turn(conversation_id: int) -> None:
    # The task is sent by name: the AI pipeline is the agents app's, which imports this one.
    # Robust: if the broker is down the message is safe, and the stalled-turn sweep sends it later.
    transaction.on_commit(
        lambda: celery_app.send_task("agents.run_turn", args=[conversation_id], kwargs={"requested_at": time.time()}),
        robust=True,
    )


def conversation_typing(conversation_id: int, *, sender: str, author_name: str, active: bool) -> None:
    """Tell the customer that the AI works or a human types (nothing is stored)."""
    broadcast_on_commit(conversation_group(conversation_id), typing_event(sender, author_name, active))


@transaction.atomic
def conversation_rate(conversation_id: int, *, rating: int, comment: str = "") -> Conversation:
    """The customer's rating (CSAT), once, after a human resolved the conversation."""
    conversation = Conversation.objects.select_for_update().select_related("inbox").get(pk=conversation_id)
    if not conversation.inbox.csat_enabled:
        raise IllegalTransition("This inbox does not ask for ratings.", code="csat_disabled")
    if conversation.csat_rating is not None:
        raise IllegalTransition("This conversation has already been rated.", code="csat_already_given")
    if conversation.status != S.RESOLVED:
        raise IllegalTransition("A conversation can be rated once it is resolved.", code="not_resolved")
    conversation.csat_rating, conversation.csat_comment, conversation.csat_at = rating, comment, timezone.now()
    conversation.save(update_fields=["csat_rating", "csat_comment", "csat_at"])
    audit_record(actor="customer", action="conversation.rated", target=conversation, after={"rating": rating})
    return conversation


# State transitions -----------------------------------------------------------------------


def _transition(conversation_id: int, to: str, *, actor, action: str, **changes) -> Conversation:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        _move(conversation, to, actor=actor, action=action, **changes)
    return conversation


def _move(conversation: Conversation, to: str, *, actor, action: str, **changes) -> None:
    """Call holding the conversation row lock, inside the transaction."""
    if to not in TRANSITIONS[conversation.status]:
        raise IllegalTransition(f"A conversation in {conversation.status} cannot move to {to}.")
    before = {"status": conversation.status, **{field: _plain(getattr(conversation, field)) for field in changes}}
    now = timezone.now()
    timestamp = "reopened_at" if to == S.NEW else f"{to}_at"
    conversation.status = to
    setattr(conversation, timestamp, now)
    for field, value in changes.items():
        setattr(conversation, field, value)
    conversation.save(update_fields=["status", timestamp, *changes])
    after = {"status": to, **{field: _plain(value) for field, value in changes.items()}}
    audit_record(actor=actor, action=action, target=conversation, before=before, after=after)
    broadcast_on_commit(conversation_group(conversation.pk), status_event(conversation))


def _plain(value):
    return getattr(value, "pk", value)


def conversation_start_ai(conversation_id: int) -> Conversation:
    conversation = _transition(conversation_id, S.AI_PROCESSING, actor="ai", action="conversation.ai_started")
    conversation_typing(conversation_id, sender="ai", author_name="AI assistant", active=True)
    return conversation


def conversation_finish(conversation_id: int) -> Conversation:
    """The AI answered alone."""
    return _transition(conversation_id, S.FINISHED, actor="ai", action="conversation.finished")


def conversation_hand_over(
    conversation_id: int,
    *,
    reason: str,
    summary: str = "",
    intent: str = "",
    confidence: float | None = None,
    required_skills: list[str] | None = None,
    priority: int | None = None,
) -> Conversation:
    """The AI should not answer alone: the conversation goes to the humans, with a brief."""
    changes = {
        "handover_reason": reason,
        "handover_summary": summary,
        "handover_intent": intent,
        "handover_confidence": confidence,
        "required_skills": required_skills or [],
    }
    if priority is not None:
        changes["priority"] = priority
    return _transition(conversation_id, S.HANDOVER, actor="ai", action="conversation.handed_over", **changes)


def conversation_queue_for_human(conversation_id: int) -> Conversation:
    return _transition(conversation_id, S.PENDING_HUMAN, actor="system", action="conversation.queued")


def conversation_human_join(conversation_id: int, *, agent) -> Conversation:
    return _transition(conversation_id, S.HUMAN_ACTIVE, actor=agent, action="conversation.human_joined", assignee=agent)


def conversation_resolve(conversation_id: int, *, agent) -> Conversation:
    return _transition(conversation_id, S.RESOLVED, actor=agent, action="conversation.resolved")


def conversation_return_to_ai(conversation_id: int, *, agent) -> Conversation:
    """The AI takes over again; it answers anything the customer wrote that nobody answered."""
    with transaction.atomic():
        conversation = _transition(
            conversation_id, S.BACK_TO_AI, actor=agent, action="conversation.returned_to_ai", assignee=None
        )
        _request_ai_turn(conversation_id)
    return conversation
