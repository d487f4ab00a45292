import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from conversations import services
from conversations.errors import IllegalTransition
from conversations.events import conversation_group
from conversations.models import AuditEvent, Conversation, Customer, Message
from conversations.services import TRANSITIONS
from tests.conftest import seen_all

pytestmark = pytest.mark.django_db

S = Conversation.Status


def make_conversation(inbox, status=S.NEW, assignee=None) -> Conversation:
    """A conversation in `status`; one with a person is `assignee`'s."""
    customer = Customer.objects.create(inbox=inbox, name="Carla")
    assignee = assignee if status == S.HUMAN_ACTIVE else None
    return Conversation.objects.create(inbox=inbox, customer=customer, status=status, assignee=assignee)


def move(conversation_id, target, agent):
    """The public service that moves a conversation to `target`."""
    return {
        S.AI_PROCESSING: lambda: services.conversation_start_ai(conversation_id),
        S.FINISHED: lambda: services.conversation_finish(conversation_id),
        S.HANDOVER: lambda: services.conversation_hand_over(
            conversation_id,
            reason="low_confidence",
            summary="Wants a refund",
            intent="refund",
            confidence=0.41,
            required_skills=["billing"],
            priority=Conversation.Priority.HIGH,
            queue=False,
        ),  # fmt: skip
        S.PENDING_HUMAN: lambda: services.conversation_queue_for_human(conversation_id),
        S.HUMAN_ACTIVE: lambda: services.conversation_human_join(conversation_id, agent=agent),
        S.RESOLVED: lambda: services.conversation_resolve(
            conversation_id, agent=agent, seen_through=seen_all(conversation_id)
        ),
        S.BACK_TO_AI: lambda: services.conversation_return_to_ai(conversation_id, agent=agent),
        S.NEW: lambda: services.message_post_from_customer(conversation_id, content="Again", client_message_id="x"),
    }[target]()


ALL_MOVES = [(source, target) for source in S.values for target in S.values if source != target]


@pytest.mark.parametrize("source, target", [move for move in ALL_MOVES if move[1] in TRANSITIONS[move[0]]])
def test_legal_transition_writes_the_state_its_time_and_an_audit_event(inbox, support_agent, source, target):
    conversation = make_conversation(inbox, source, assignee=support_agent)

    move(conversation.pk, target, support_agent)

    conversation.refresh_from_db()
    assert conversation.status == target
    timestamp = "reopened_at" if target == S.NEW else f"{target}_at"
    assert getattr(conversation, timestamp) is not None
    event = AuditEvent.objects.filter(target_id=str(conversation.pk)).latest("id")
    assert (event.before["status"], event.after["status"]) == (source, target)


@pytest.mark.parametrize("source, target", [move for move in ALL_MOVES if move[1] not in TRANSITIONS[move[0]]])
def test_illegal_transition_is_refused_and_changes_nothing(inbox, support_agent, source, target):
    conversation = make_conversation(inbox, source, assignee=support_agent)

    if target == S.NEW:  # a customer message never moves an open conversation back to "new"
        move(conversation.pk, target, support_agent)
        conversation.refresh_from_db()
        assert conversation.status == source
        return
    with pytest.raises(IllegalTransition):
        move(conversation.pk, target, support_agent)

    conversation.refresh_from_db()
    assert conversation.status == source
    assert not AuditEvent.objects.filter(target_id=str(conversation.pk)).exists()


def test_every_state_can_be_reached_and_left():
    reachable = {target for targets in TRANSITIONS.values() for target in targets}

    assert reachable == set(S.values)
    assert set(TRANSITIONS) == set(S.values)


def test_handover_keeps_the_brief_for_the_humans(inbox, support_agent):
    conversation = make_conversation(inbox, S.AI_PROCESSING)

    move(conversation.pk, S.HANDOVER, support_agent)

    conversation.refresh_from_db()
    assert conversation.handover_reason == "low_confidence"
    assert (conversation.handover_intent, conversation.handover_confidence) == ("refund", 0.41)
    assert (conversation.required_skills, conversation.priority) == (["billing"], Conversation.Priority.HIGH)


def test_a_handover_goes_straight_to_the_human_queue_with_both_moves_audited(inbox):
    conversation = make_conversation(inbox, S.AI_PROCESSING)

    services.conversation_hand_over(conversation.pk, reason="human_request", summary="Wants a person")

    conversation.refresh_from_db()
    assert conversation.status == S.PENDING_HUMAN
    assert conversation.handover_at and conversation.pending_human_at
    actions = AuditEvent.objects.filter(target_id=str(conversation.pk)).order_by("id").values_list("action", flat=True)
    assert list(actions) == ["conversation.handed_over", "conversation.queued"]


def test_queueing_a_conversation_that_is_already_queued_changes_nothing(inbox):
    conversation = make_conversation(inbox, S.PENDING_HUMAN)

    services.conversation_queue_for_human(conversation.pk)

    assert Conversation.objects.get(pk=conversation.pk).status == S.PENDING_HUMAN
    assert not AuditEvent.objects.exists()


def test_a_second_handover_starts_its_service_levels_afresh(inbox, support_agent):
    conversation = make_conversation(inbox, S.AI_PROCESSING)
    services.conversation_hand_over(conversation.pk, reason="human_request")
    services.conversation_claim(conversation.pk, agent=support_agent)
    services.message_post_from_human(conversation.pk, agent=support_agent, content="Hi")
    services.conversation_return_to_ai(conversation.pk, agent=support_agent)
    services.conversation_start_ai(conversation.pk)

    services.conversation_hand_over(conversation.pk, reason="low_confidence")

    conversation.refresh_from_db()
    assert (conversation.first_response_at, conversation.first_response_seconds, conversation.escalated_at) == (
        None, None, None,
    )  # fmt: skip


def test_the_first_human_reply_and_the_resolution_record_their_times(inbox, support_agent):
    conversation = make_conversation(inbox, S.AI_PROCESSING)
    services.conversation_hand_over(conversation.pk, reason="human_request")
    services.conversation_claim(conversation.pk, agent=support_agent)
    services.message_post_from_human(conversation.pk, agent=support_agent, content="A note", internal=True)
    assert Conversation.objects.get(pk=conversation.pk).first_response_at is None

    services.message_post_from_human(conversation.pk, agent=support_agent, content="Hello!")
    services.message_post_from_human(conversation.pk, agent=support_agent, content="Still there?")
    services.conversation_resolve(conversation.pk, agent=support_agent, seen_through=seen_all(conversation.pk))

    conversation.refresh_from_db()
    first_reply = conversation.messages.filter(sender="human").first()
    assert conversation.first_response_at == first_reply.created_at
    assert 0 <= conversation.first_response_seconds <= conversation.resolution_seconds


def test_human_join_assigns_and_return_to_ai_unassigns(inbox, support_agent):
    conversation = make_conversation(inbox, S.PENDING_HUMAN)

    services.conversation_human_join(conversation.pk, agent=support_agent)
    assert Conversation.objects.get(pk=conversation.pk).assignee == support_agent
    services.conversation_return_to_ai(conversation.pk, agent=support_agent)

    conversation.refresh_from_db()
    assert (conversation.status, conversation.assignee) == (S.BACK_TO_AI, None)
    event = AuditEvent.objects.filter(action="conversation.returned_to_ai").get()
    assert (event.actor, event.before["assignee"], event.after["assignee"]) == (support_agent, support_agent.pk, None)


def test_a_human_reply_needs_an_active_human_conversation(inbox, support_agent):
    conversation = make_conversation(inbox, S.PENDING_HUMAN)

    with pytest.raises(IllegalTransition):
        services.message_post_from_human(conversation.pk, agent=support_agent, content="Hi")
    assert not Message.objects.exists()


def test_audit_events_cannot_be_changed_or_deleted(inbox):
    conversation = make_conversation(inbox)
    event = AuditEvent.objects.create(actor_label="x", action="a", target_type="t", target_id=str(conversation.pk))

    event.action = "rewritten"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


# Broadcasts after commit, through the real Redis channel layer ------------------------------


def listen(conversation_id, action, collect=4) -> list[dict]:
    """Join the conversation's group, run `action` here (in the test's transaction), and
    return what the group received through Redis."""

    async def join_act_and_receive():
        # One event loop throughout: the pub/sub layer's channels live in the loop that made them.
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(conversation_group(conversation_id), channel)
        await sync_to_async(action)()
        received = []
        try:
            while len(received) < collect:
                received.append(await asyncio.wait_for(layer.receive(channel), 1.0))
        except TimeoutError:
            pass
        return received

    return async_to_sync(join_act_and_receive)()


def test_transition_broadcasts_the_new_status_once_committed(inbox, support_agent, django_capture_on_commit_callbacks):
    conversation = make_conversation(inbox, S.PENDING_HUMAN)

    def join():
        with django_capture_on_commit_callbacks(execute=True):
            services.conversation_human_join(conversation.pk, agent=support_agent)

    events = listen(conversation.pk, join)

    assert events == [{"type": "widget.status", "status": "human_active", "assignee_name": "Ana"}]


def test_nothing_is_broadcast_when_the_transaction_rolls_back(inbox, support_agent, django_capture_on_commit_callbacks):
    conversation = make_conversation(inbox, S.PENDING_HUMAN)

    def join_without_commit():
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.conversation_human_join(conversation.pk, agent=support_agent)
        assert len(callbacks) == 1  # scheduled for after commit, and the test never commits

    assert listen(conversation.pk, join_without_commit, collect=1) == []


def test_a_new_message_is_pushed_but_an_internal_note_is_not(inbox, support_agent, django_capture_on_commit_callbacks):
    conversation = make_conversation(inbox, S.HUMAN_ACTIVE, assignee=support_agent)

    def reply_and_note():
        with django_capture_on_commit_callbacks(execute=True):
            services.message_post_from_human(conversation.pk, agent=support_agent, content="Note", internal=True)
            services.message_post_from_human(conversation.pk, agent=support_agent, content="Hello!")

    events = listen(conversation.pk, reply_and_note)

    assert [(event["type"], event["message"]["content"]) for event in events] == [("widget.message", "Hello!")]
    assert events[0]["message"]["author_name"] == "Ana"


def test_the_ai_starting_work_shows_the_customer_a_typing_indicator(inbox, django_capture_on_commit_callbacks):
    conversation = make_conversation(inbox)

    def start():
        with django_capture_on_commit_callbacks(execute=True):
            services.conversation_start_ai(conversation.pk)

    events = listen(conversation.pk, start)

    assert {"type": "widget.typing", "sender": "ai", "author_name": "AI assistant", "active": True} in events
    assert {"type": "widget.status", "status": "ai_processing", "assignee_name": None} in events


def test_changes_under_a_lock_the_caller_holds_take_no_second_lock_and_no_savepoint(inbox):
    conversation = make_conversation(inbox)

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        services.conversation_start_ai(conversation.pk, locked=locked)
        services.message_post_from_ai(conversation.pk, content="Hi!", client_message_id="run-1-reply", locked=locked)
        services.message_post_from_ai(conversation.pk, content="Hi!", client_message_id="run-1-reply", locked=locked)
        services.conversation_finish(conversation.pk, locked=locked)

    statements = [query["sql"] for query in queries.captured_queries]
    assert [sql for sql in statements if sql.endswith("FOR UPDATE")] == [statements[0]]
    assert not [sql for sql in statements if "SAVEPOINT" in sql]
    conversation.refresh_from_db()
    assert conversation.status == S.FINISHED and conversation.finished_at is not None
    assert list(conversation.messages.values_list("content", flat=True)) == ["Hi!"]  # the repeat stored nothing
    assert audited_actions(conversation) == ["conversation.ai_started", "conversation.finished"]


def test_a_handover_under_the_callers_lock_is_queued_and_audited_like_any_other(inbox):
    conversation = make_conversation(inbox, S.AI_PROCESSING)

    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        services.conversation_hand_over(conversation.pk, reason="low_confidence", summary="Refund?", locked=locked)

    conversation.refresh_from_db()
    assert conversation.status == S.PENDING_HUMAN and conversation.handover_summary == "Refund?"
    assert audited_actions(conversation) == ["conversation.handed_over", "conversation.queued"]


@pytest.mark.django_db(transaction=True)
def test_a_locked_row_passed_outside_any_transaction_is_refused_and_changes_nothing(inbox):
    conversation = make_conversation(inbox, S.AI_PROCESSING)
    row = Conversation.objects.get(pk=conversation.pk)  # not locked: no transaction holds it

    with pytest.raises(TransactionManagementError):
        services.conversation_finish(conversation.pk, locked=row)

    conversation.refresh_from_db()
    assert conversation.status == S.AI_PROCESSING
    assert audited_actions(conversation) == []


def audited_actions(conversation) -> list[str]:
    events = AuditEvent.objects.filter(target_type="conversations.conversation", target_id=str(conversation.pk))
    return list(events.order_by("pk").values_list("action", flat=True))


# Races -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_message_store_it_once(inbox):
    conversation = make_conversation(inbox)
    results, barrier = [], threading.Barrier(4)

    def post():
        barrier.wait()
        try:
            results.append(
                services.message_post_from_customer(conversation.pk, content="Hi", client_message_id="same")[1]
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, False, False, True]
    assert Message.objects.filter(conversation=conversation).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_agents_joining_at_once_one_wins_and_the_other_is_refused(inbox, support_agent, second_agent):
    conversation = make_conversation(inbox, S.PENDING_HUMAN)
    outcomes, barrier = {}, threading.Barrier(2)

    def join(agent):
        barrier.wait()
        try:
            services.conversation_human_join(conversation.pk, agent=agent)
            outcomes[agent.username] = "joined"
        except IllegalTransition:
            outcomes[agent.username] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=join, args=(agent,)) for agent in (support_agent, second_agent)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes.values()) == ["joined", "refused"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "joined")
    assert Conversation.objects.get(pk=conversation.pk).assignee.username == winner
