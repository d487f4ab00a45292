"""Every write to inboxes, customers, conversations and messages.

A state change locks the conversation row (`select_for_update`), checks the current state
against `TRANSITIONS`, writes the new state with its timestamp and an audit event, and
broadcasts to the conversation's socket group once the transaction commits.
"""

import functools
import secrets
import time
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from psycopg import sql

from conversations.audit import audit_record
from conversations.errors import (
    AlreadyClaimed,
    ConversationNotFound,
    IdentityRefused,
    IllegalTransition,
    NotYourConversation,
)
from conversations.events import (
    assignee_name,
    conversation_group,
    desk_event,
    desk_inbox_group,
    message_event,
    status_event,
    typing_event,
)
from conversations.models import (
    AutoAssignment,
    Conversation,
    Customer,
    CustomerToken,
    Inbox,
    Message,
    new_widget_token,
    person_name,
    token_digest,
)
from hilconsole.broadcast import broadcast_all_on_commit, broadcast_on_commit, hand_off
from hilconsole.celery import send_unawaited
from hilconsole.prepared import columns, insert_into, insert_values, inserted, instance, prepared_cursor, update_row

S = Conversation.Status
# The states in which the AI answers the customer's next message.
AI_STATES = (S.NEW, S.BACK_TO_AI, S.AI_PROCESSING)
# The states the desk shows: a conversation entering or leaving one is pushed to the desks.
DESK_STATES = {S.PENDING_HUMAN, S.HUMAN_ACTIVE}

TRANSITIONS: dict[str, set[str]] = {
    S.NEW: {S.AI_PROCESSING},
    S.AI_PROCESSING: {S.FINISHED, S.HANDOVER},
    S.HANDOVER: {S.PENDING_HUMAN},
    S.PENDING_HUMAN: {S.HUMAN_ACTIVE},
    # Back to the queue: released, transferred to a skill, or its agent went offline.
    S.HUMAN_ACTIVE: {S.RESOLVED, S.BACK_TO_AI, S.PENDING_HUMAN},
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


@transaction.atomic
def inbox_rotate_widget_token(inbox_id: int, *, actor) -> Inbox:
    """A new widget token for the inbox: sites embedding the old one must switch to the new tag
    (a leaked token stops working at once). Customers' open sessions keep working."""
    inbox = Inbox.objects.select_for_update().get(pk=inbox_id)
    before = inbox.widget_token
    inbox.widget_token = new_widget_token()
    inbox.save(update_fields=["widget_token"])
    audit_record(actor=actor, action="inbox.widget_token_rotated", target=inbox, before={"widget_token": before},
                 after={"widget_token": inbox.widget_token})  # fmt: skip
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


# How stale a token's last use may get before it is recorded again: one write a day per device.
TOKEN_USE_RECORDED_EVERY = timedelta(days=1)


def customer_for_token(token: str) -> Customer | None:
    """The customer whose widget session this is (with their inbox), unless it expired (unused
    too long). Every widget request asks first: one prepared statement."""
    now = timezone.now()
    fresh = now - timedelta(days=settings.WIDGET_TOKEN_IDLE_DAYS)
    with prepared_cursor() as cursor:
        cursor.execute(_customer_of_token(), [token_digest(token), fresh])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, last_used_at, row = row[0], row[1], row[2:]
    split = len(Customer._meta.concrete_fields)
    customer = instance(Customer, row[:split])
    customer.inbox = instance(Inbox, row[split:])
    if last_used_at < now - TOKEN_USE_RECORDED_EVERY:
        CustomerToken.objects.filter(pk=token_id).update(last_used_at=now)
    return customer


@functools.cache
def _customer_of_token() -> str:
    return (
        sql.SQL(
            "SELECT t.{token_id}, t.{last_used_at}, {customer}, {inbox} FROM {tokens} t"
            " JOIN {customers} c ON c.{customer_id} = t.{token_customer}"
            " JOIN {inboxes} i ON i.{inbox_id} = c.{customer_inbox}"
            " WHERE t.{digest} = %s AND t.{last_used_at} > %s"
        )
        .format(
            customer=columns(Customer, "c"),
            inbox=columns(Inbox, "i"),
            tokens=sql.Identifier(CustomerToken._meta.db_table),
            customers=sql.Identifier(Customer._meta.db_table),
            inboxes=sql.Identifier(Inbox._meta.db_table),
            token_id=sql.Identifier(CustomerToken._meta.pk.column),
            last_used_at=sql.Identifier(CustomerToken._meta.get_field("last_used_at").column),
            digest=sql.Identifier(CustomerToken._meta.get_field("digest").column),
            token_customer=sql.Identifier(CustomerToken._meta.get_field("customer").column),
            customer_id=sql.Identifier(Customer._meta.pk.column),
            customer_inbox=sql.Identifier(Customer._meta.get_field("inbox").column),
            inbox_id=sql.Identifier(Inbox._meta.pk.column),
        )
        .as_string()
    )


@transaction.atomic
def customer_token_rotate(token: str) -> str | None:
    """A new token for the same widget session; the old one stops working at once. None when
    the old one is unknown or expired."""
    customer = customer_for_token(token)
    if customer is None:
        return None
    deleted, _ = CustomerToken.objects.filter(digest=token_digest(token)).delete()
    if not deleted:  # rotated by a concurrent request meanwhile: only one of them gets a new token
        return None
    new_token = secrets.token_urlsafe(32)
    CustomerToken.objects.create(customer=customer, digest=token_digest(new_token))
    audit_record(actor="customer", action="customer_token.rotated", target=customer)
    return new_token


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
    conversation_id: int,
    *,
    content: str,
    client_message_id: str,
    customer: Customer | None = None,
    request_ai_turn: bool = True,
) -> tuple[Message, bool]:
    """Store a customer's message once per client id; returns (message, created).

    With `customer` (the widget's signed-in customer) the conversation must be theirs:
    ConversationNotFound or NotYourConversation otherwise. A new message reopens a finished or
    resolved conversation and asks the AI for a turn (unless `request_ai_turn` is off: the
    caller runs the turn itself, as the evaluation does).
    """
    with transaction.atomic():
        # The row lock orders concurrent posts to one conversation, so the duplicate check
        # below cannot race with an insert of the same client id.
        conversation, earlier = _locked_customer_conversation(conversation_id, customer, client_message_id)
        if earlier is not None:
            return earlier, False
        if conversation.is_closed:
            _move(conversation, S.NEW, actor="customer", action="conversation.reopened")
        message = _store_message(conversation, Message.Sender.CUSTOMER, content, client_message_id=client_message_id)
        # During a running turn too: the turn answers it along with the others, or the
        # request waits until that turn is over and answers it next.
        if request_ai_turn and conversation.status in AI_STATES:
            _request_ai_turn(conversation.pk)
    return message, True


def _locked_customer_conversation(
    conversation_id: int, customer: Customer | None, client_message_id: str
) -> tuple[Conversation, Message | None]:
    """The conversation, locked, and the customer's message already stored under this client id
    (or None). With `customer` (every widget post): one prepared statement, which also reads
    the row the ownership check needs."""
    if customer is None:
        conversation = Conversation.objects.select_for_update(of=("self",)).select_related("customer")
        conversation = conversation.get(pk=conversation_id)
        earlier = conversation.messages.filter(sender=Message.Sender.CUSTOMER, client_message_id=client_message_id)
        return conversation, earlier.first()
    with prepared_cursor() as cursor:
        cursor.execute(
            _conversation_locked_with_post(), [Message.Sender.CUSTOMER.value, client_message_id, conversation_id]
        )
        row = cursor.fetchone()
    if row is None:
        raise ConversationNotFound()
    split = len(Conversation._meta.concrete_fields)
    conversation = instance(Conversation, row[:split])
    if conversation.customer_id != customer.pk:
        raise NotYourConversation()
    conversation.customer = customer
    if row[split] is None:  # the message's id: no message under this client id yet
        return conversation, None
    earlier = instance(Message, row[split:])
    earlier.conversation = conversation
    return conversation, earlier


@functools.cache
def _conversation_locked_with_post() -> str:
    message = Message._meta
    return (
        sql.SQL(
            "SELECT {conversation}, {message} FROM {conversations} c"
            " LEFT JOIN LATERAL (SELECT * FROM {messages} WHERE {of_conversation} = c.{id}"
            " AND {sender} = %s AND {client_message_id} = %s ORDER BY {message_id} LIMIT 1) m ON true"
            " WHERE c.{id} = %s FOR UPDATE OF c"
        )
        .format(
            conversation=columns(Conversation, "c"),
            message=columns(Message, "m"),
            conversations=sql.Identifier(Conversation._meta.db_table),
            messages=sql.Identifier(message.db_table),
            id=sql.Identifier(Conversation._meta.pk.column),
            of_conversation=sql.Identifier(message.get_field("conversation").column),
            sender=sql.Identifier(message.get_field("sender").column),
            client_message_id=sql.Identifier(message.get_field("client_message_id").column),
            message_id=sql.Identifier(message.pk.column),
        )
        .as_string()
    )


def message_post_from_ai(
    conversation_id: int,
    *,
    content: str,
    metadata: dict | None = None,
    client_message_id: str | None = None,
    answers_earlier: bool = False,
    locked: Conversation | None = None,
) -> Message:
    """The AI's message. With a `client_message_id` (a run's reply key) a repeat stores nothing.

    A run's messages answer what its run covered. One written outside any run (a conversation's
    history brought in from elsewhere) says `answers_earlier`: it deals with what came before it.
    `locked`: see `_under_lock`.
    """
    with _under_lock(locked):
        conversation = locked or conversation_lock(conversation_id)
        if client_message_id and (earlier := _earlier_post(conversation, Message.Sender.AI, client_message_id)):
            return earlier
        message = _store_message(
            conversation, Message.Sender.AI, content, metadata=metadata or {}, client_message_id=client_message_id
        )
        if answers_earlier:
            Conversation.objects.filter(pk=conversation.pk).update(handled_through=message.pk)
        return message


def message_post_from_human(
    conversation_id: int, *, agent, content: str, internal: bool = False, assignee_id: int | None = None
) -> Message:
    """A support agent's reply, or an internal note (never shown to the customer).

    A reply goes out only while the conversation is still with the person the agent saw it
    with (`assignee_id`, the agent themselves by default): see `_check_assignee`.
    """
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if internal:
            return _store_message(conversation, Message.Sender.NOTE, content, author=agent)
        if conversation.status != S.HUMAN_ACTIVE:
            raise IllegalTransition(f"Only an active human conversation takes replies (it is {conversation.status}).")
        _check_assignee(conversation, agent if assignee_id is None else assignee_id)
        message = _store_message(conversation, Message.Sender.HUMAN, content, author=agent)
        # A person's reply deals with everything the customer wrote before it.
        update = {"handled_through": message.pk}
        if conversation.first_response_at is None:
            update |= _first_response(conversation, message.created_at)
        Conversation.objects.filter(pk=conversation.pk).update(**update)
        return message


def message_post_on_behalf(
    conversation_id: int, *, author_id: int, content: str, client_message_id: str, locked: Conversation | None = None
) -> Message:
    """A person's words sent within an AI turn: a reviewer who answers the customer instead of
    letting the AI act. Keyed like the AI's replies, so a repeated turn sends it once.
    `locked`: see `_under_lock`."""
    with _under_lock(locked):
        conversation = locked or conversation_lock(conversation_id)
        if earlier := _earlier_post(conversation, Message.Sender.HUMAN, client_message_id):
            return earlier
        message = _store_message(
            conversation, Message.Sender.HUMAN, content, author_id=author_id, client_message_id=client_message_id
        )
        Conversation.objects.filter(pk=conversation.pk).update(handled_through=message.pk)
        return message


def _first_response(conversation: Conversation, at) -> dict:
    """The first-response fields to write. The clock starts when the customer was handed over."""
    waiting_since = conversation.handover_at or conversation.pending_human_at or conversation.created_at
    return {"first_response_at": at, "first_response_seconds": (at - waiting_since).total_seconds()}


def _check_assignee(conversation: Conversation, expected) -> None:
    """Call holding the conversation row lock. An agent's action applies to the conversation
    as they saw it: transferred or requeued meanwhile, it is no longer theirs to act on, and
    acting anyway would answer or close someone else's customer."""
    expected_id = getattr(expected, "pk", expected)
    if conversation.assignee_id != expected_id:
        now_with = assignee_name(conversation)
        if now_with:
            where = f"is now with {now_with}"
        elif conversation.status == S.PENDING_HUMAN:
            where = "is back in the queue"
        else:
            where = f"is {conversation.status.replace('_', ' ')} now"
        raise IllegalTransition(f"This conversation changed hands meanwhile: it {where}.", code="assignee_changed")


def message_post_system(conversation_id: int, *, content: str) -> Message:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        return _store_message(conversation, Message.Sender.SYSTEM, content)


def _store_message(conversation: Conversation, sender: str, content: str, **fields) -> Message:
    """Call holding the conversation row lock. The message and the conversation's
    `last_message_at` are written by one prepared statement."""
    message = Message(conversation=conversation, sender=sender, content=content, **fields)
    values = insert_values(message)
    with prepared_cursor() as cursor:
        cursor.execute(_message_stored(), [*values, message.created_at, conversation.pk])
        inserted(message, cursor.fetchone()[0])
    if sender != Message.Sender.NOTE:
        broadcast_on_commit(conversation_group(conversation.pk), message_event(message))
    return message


@functools.cache
def _message_stored() -> str:
    return (
        sql.SQL(
            "WITH m AS ({insert} RETURNING {message_id}),"
            " c AS (UPDATE {conversations} SET {last_message_at} = %s WHERE {id} = %s)"
            " SELECT {message_id} FROM m"
        )
        .format(
            insert=insert_into(Message),
            message_id=sql.Identifier(Message._meta.pk.column),
            conversations=sql.Identifier(Conversation._meta.db_table),
            last_message_at=sql.Identifier(Conversation._meta.get_field("last_message_at").column),
            id=sql.Identifier(Conversation._meta.pk.column),
        )
        .as_string()
    )


def _request_ai_turn(conversation_id: int) -> None:
    # The task is sent by name: the AI pipeline is the agents app's, which imports this one.
    # Nobody waits for a turn's result: asking for none spares the request a subscription to
    # its result channel, and the worker a write. The process's sending thread sends it, so the
    # customer's post does not wait for the broker either: the message is stored by then, and if
    # the broker is down (or the process ends first) the stalled-turn sweep sends it later.
    def send():
        send_unawaited("agents.run_turn", args=[conversation_id], kwargs={"requested_at": time.time()})

    transaction.on_commit(lambda: hand_off(send))


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


def conversation_lock(conversation_id: int) -> Conversation:
    """Call inside a transaction: the conversation's row, locked until it ends (one prepared
    statement: every change starts with it). Conversation.DoesNotExist when there is none."""
    with prepared_cursor() as cursor:
        cursor.execute(_conversation_locked(), [conversation_id])
        row = cursor.fetchone()
    if row is None:
        raise Conversation.DoesNotExist(f"No conversation {conversation_id}.")
    return instance(Conversation, row)


@functools.cache
def _conversation_locked() -> str:
    return (
        sql.SQL("SELECT {conversation} FROM {conversations} c WHERE c.{id} = %s FOR UPDATE")
        .format(
            conversation=columns(Conversation, "c"),
            conversations=sql.Identifier(Conversation._meta.db_table),
            id=sql.Identifier(Conversation._meta.pk.column),
        )
        .as_string()
    )


def _earlier_post(conversation: Conversation, sender: str, client_message_id: str) -> Message | None:
    """Call holding the conversation row lock: the message `sender` already stored under this
    client id, if any (a repeated post)."""
    with prepared_cursor() as cursor:
        cursor.execute(_message_by_client_id(), [conversation.pk, str(sender), client_message_id])
        row = cursor.fetchone()
    if row is None:
        return None
    message = instance(Message, row)
    message.conversation = conversation
    return message


@functools.cache
def _message_by_client_id() -> str:
    message = Message._meta
    return (
        sql.SQL(
            "SELECT {message} FROM {messages} m WHERE m.{of_conversation} = %s AND m.{sender} = %s"
            " AND m.{client_message_id} = %s ORDER BY m.{id} LIMIT 1"
        )
        .format(
            message=columns(Message, "m"),
            messages=sql.Identifier(message.db_table),
            of_conversation=sql.Identifier(message.get_field("conversation").column),
            sender=sql.Identifier(message.get_field("sender").column),
            client_message_id=sql.Identifier(message.get_field("client_message_id").column),
            id=sql.Identifier(message.pk.column),
        )
        .as_string()
    )


@contextmanager
def _under_lock(locked: Conversation | None):
    """Where a change runs: in a transaction of its own, which locks the row; or, given the row
    the caller locked (`locked`), in the caller's transaction. An AI turn locks its conversation
    once and hands the row on to each change, which would otherwise lock it again inside a
    savepoint of its own: three round trips more per change, on the path of every reply."""
    if locked is None:
        with transaction.atomic():
            yield
        return
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("A row is locked only inside the transaction that locked it.")
    yield


def _transition(conversation_id: int, to: str, *, actor, action: str, locked=None, **changes) -> Conversation:
    with _under_lock(locked):
        conversation = locked or conversation_lock(conversation_id)
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
    update_row(conversation, ("status", timestamp, *changes))
    after = {"status": to, **{field: _plain(value) for field, value in changes.items()}}
    audit_record(actor=actor, action=action, target=conversation, before=before, after=after)
    _announce(conversation, to_desk=before["status"] in DESK_STATES or to in DESK_STATES)


def _announce(conversation: Conversation, *, to_widget: bool = True, to_desk: bool = True) -> None:
    """Push the committed change to the customer's widget and to the desks of its inbox."""
    events = []
    if to_widget:
        events.append((conversation_group(conversation.pk), status_event(conversation)))
    if to_desk:
        events.append((desk_inbox_group(conversation.inbox_id), desk_event(conversation)))
    broadcast_all_on_commit(events)


def _plain(value):
    """A value as the audit event's JSON stores it."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return getattr(value, "pk", value)


def conversation_start_ai(conversation_id: int, *, locked: Conversation | None = None) -> Conversation:
    """`locked`: see `_under_lock`."""
    conversation = _transition(
        conversation_id, S.AI_PROCESSING, actor="ai", action="conversation.ai_started", locked=locked
    )
    conversation_typing(conversation_id, sender="ai", author_name="AI assistant", active=True)
    return conversation


def conversation_finish(conversation_id: int, *, locked: Conversation | None = None) -> Conversation:
    """The AI answered alone. `locked`: see `_under_lock`."""
    return _transition(conversation_id, S.FINISHED, actor="ai", action="conversation.finished", locked=locked)


def conversation_hand_over(
    conversation_id: int,
    *,
    reason: str,
    summary: str = "",
    intent: str = "",
    confidence: float | None = None,
    required_skills: list[str] | None = None,
    priority: int | None = None,
    queue: bool = True,
    locked: Conversation | None = None,
) -> Conversation:
    """The AI should not answer alone: the conversation goes to the humans' queue, with a brief.

    `queue=False` stops at `handover`, for a caller that queues it later itself. `locked`: see
    `_under_lock`.
    """
    changes = {
        "handover_reason": reason,
        "handover_summary": summary,
        "handover_intent": intent,
        "handover_confidence": confidence,
        "required_skills": required_skills or [],
        # A new handover is new work: whoever released an earlier one may take this one.
        "released_by": None,
        # The service levels are those of this handover, not of an earlier one.
        "escalated_at": None,
        "first_response_at": None,
        "first_response_seconds": None,
        "resolution_seconds": None,
    }
    if priority is not None:
        changes["priority"] = priority
    with _under_lock(locked):
        conversation = locked or conversation_lock(conversation_id)
        _move(conversation, S.HANDOVER, actor="ai", action="conversation.handed_over", **changes)
        if queue:
            conversation_queue_for_human(conversation_id, locked=conversation)
    return conversation


def conversation_queue_for_human(conversation_id: int, *, locked: Conversation | None = None) -> Conversation:
    """Put the conversation in the humans' queue (from `handover`, or back from an agent).

    Already queued is not an error: the caller wanted it queued and it is. `locked`: see
    `_under_lock`.
    """
    with _under_lock(locked):
        conversation = locked or conversation_lock(conversation_id)
        if conversation.status != S.PENDING_HUMAN:
            _move(conversation, S.PENDING_HUMAN, actor="system", action="conversation.queued", assignee=None)
            _request_assignment(conversation)
    return conversation


def _request_assignment(conversation: Conversation) -> None:
    """Call inside the transaction that queued the conversation."""
    if conversation.inbox.auto_assignment == AutoAssignment.OFF:
        return
    # Assignment is the desk's (reviews app's) work, sent by name once the queueing is committed.
    # Robust: a broker error must not undo the committed queueing nor skip other callbacks; the
    # desk's assignment sweep hands out whatever waited too long.
    transaction.on_commit(lambda: send_unawaited("reviews.assign_handover", args=[conversation.pk]), robust=True)


def conversation_claim(conversation_id: int, *, agent, assigned_by=None) -> Conversation:
    """Make `agent` the one human on a queued conversation; the first claim wins.

    The row lock orders concurrent claims: the second sees the first's assignee and is told
    who won ("Already claimed by Ana") instead of overwriting it. `assigned_by` is who handed
    it to the agent (auto-assignment), when the agent did not claim it themselves.
    """
    with transaction.atomic():
        # No select_related("assignee"): when the lock waited for a concurrent claim, PostgreSQL
        # re-reads the locked row but not the joined one, so the winner would come back as NULL.
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.status == S.HUMAN_ACTIVE and conversation.assignee_id:
            raise AlreadyClaimed(person_name(conversation.assignee), by_self=conversation.assignee_id == agent.pk)
        if conversation.status != S.PENDING_HUMAN:
            raise IllegalTransition(
                f"This conversation is no longer waiting for a human (it is {conversation.status})."
            )
        action = "conversation.assigned" if assigned_by else "conversation.claimed"
        _move(conversation, S.HUMAN_ACTIVE, actor=assigned_by or agent, action=action, assignee=agent)
    return conversation


def conversation_human_join(conversation_id: int, *, agent) -> Conversation:
    return conversation_claim(conversation_id, agent=agent)


def conversation_release(
    conversation_id: int, *, agent, required_skills: list[str] | None = None, assignee_id: int | None = None
) -> Conversation:
    """The agent gives the conversation back to the queue (optionally for other skills).

    Auto-assignment then passes over them (`released_by`): they gave it back for a reason.
    """
    changes = {"assignee": None, "released_by": agent}
    if required_skills is not None:
        changes["required_skills"] = required_skills
    action = "conversation.released" if required_skills is None else "conversation.transferred_to_skill"
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        _check_active_with(conversation, agent if assignee_id is None else assignee_id)
        _move(conversation, S.PENDING_HUMAN, actor=agent, action=action, **changes)
        _request_assignment(conversation)
    return conversation


def _check_active_with(conversation: Conversation, assignee) -> None:
    """Call holding the row lock: the conversation is a person's, and still the one expected."""
    if conversation.status == S.HUMAN_ACTIVE:
        _check_assignee(conversation, assignee)


def conversation_requeue_from_absent_agent(conversation_id: int, *, agent) -> Conversation | None:
    """Its agent went offline: back to the queue, unless it moved on or changed hands meanwhile."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.status != S.HUMAN_ACTIVE or conversation.assignee_id != agent.pk:
            return None
        _move(
            conversation, S.PENDING_HUMAN, actor="system", action="conversation.requeued_agent_offline", assignee=None
        )
        _request_assignment(conversation)
    return conversation


def conversation_transfer(conversation_id: int, *, agent, to, assignee_id: int | None = None) -> Conversation:
    """Hand an active conversation to a named colleague; the customer sees the new name."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.status != S.HUMAN_ACTIVE:
            raise IllegalTransition(
                f"Only an active human conversation can be transferred (it is {conversation.status})."
            )
        _check_assignee(conversation, agent if assignee_id is None else assignee_id)
        if conversation.assignee_id == to.pk:
            raise IllegalTransition(f"{assignee_name(conversation)} already has this conversation.")
        before = {"assignee": conversation.assignee_id}
        conversation.assignee = to
        conversation.save(update_fields=["assignee"])
        audit_record(
            actor=agent,
            action="conversation.transferred",
            target=conversation,
            before=before,
            after={"assignee": to.pk},
        )
        _announce(conversation)
    return conversation


def conversation_escalate(conversation_id: int) -> Conversation | None:
    """A queued handover waited past its inbox's threshold: raise its priority, once."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.status != S.PENDING_HUMAN or conversation.escalated_at is not None:
            return None
        before = {"priority": conversation.priority}
        conversation.priority = min(conversation.priority + 1, Conversation.Priority.URGENT)
        conversation.escalated_at = timezone.now()
        conversation.save(update_fields=["priority", "escalated_at"])
        audit_record(
            actor="system",
            action="conversation.escalated",
            target=conversation,
            before=before,
            after={"priority": conversation.priority},
        )
        _announce(conversation, to_widget=False)
    return conversation


def conversation_resolve(
    conversation_id: int, *, agent, seen_through: int, assignee_id: int | None = None
) -> Conversation:
    """The agent closes the conversation, having read up to message `seen_through`.

    A customer message stored after what the agent saw ("thanks! also…" sent while they clicked)
    refuses the resolve: closing would leave it unanswered with nobody asked to answer it.
    """
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        _check_active_with(conversation, agent if assignee_id is None else assignee_id)
        unseen = conversation.messages.filter(sender=Message.Sender.CUSTOMER, pk__gt=seen_through).count()
        if unseen and conversation.status == S.HUMAN_ACTIVE:
            raise IllegalTransition(
                f"The customer wrote {unseen} new message{'s' if unseen > 1 else ''} you have not seen yet: "
                "read and answer before resolving.",
                code="unseen_messages",
            )
        started = conversation.handover_at or conversation.pending_human_at or conversation.created_at
        resolution_seconds = (timezone.now() - started).total_seconds()
        handled_through = max(conversation.handled_through, seen_through)
        _move(
            conversation, S.RESOLVED, actor=agent, action="conversation.resolved",
            resolution_seconds=resolution_seconds, handled_through=handled_through,
        )  # fmt: skip
    return conversation


def conversation_return_to_ai(conversation_id: int, *, agent, assignee_id: int | None = None) -> Conversation:
    """The AI takes over again; it answers anything the customer wrote that nobody answered."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        _check_active_with(conversation, agent if assignee_id is None else assignee_id)
        _move(conversation, S.BACK_TO_AI, actor=agent, action="conversation.returned_to_ai", assignee=None)
        _request_ai_turn(conversation_id)
    return conversation
