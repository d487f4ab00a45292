"""No customer message is left behind by an AI turn: folded-out messages, reply keys, loop bounds
after a fold, conversations stuck in `ai_processing`, the stalled-turn sweep, and the turn lock's
own database connection. Turns run in this process (the code a worker runs) against PostgreSQL,
with the answer model on the local OpenAI-compatible test server when a test must act mid-turn."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from agents.llm import gateway
from agents.llm.keys import encrypt_api_key
from agents.models import AIAgent, ModelProfile, PipelineRun
from agents.pipelines import turns
from agents.pipelines.defaults import CUSTOMER_SUPPORT_GRAPH
from agents.pipelines.services import pipeline_version_create, pipeline_version_pin
from conversations import services
from conversations.models import Conversation, Message
from tests.agents.openai_server import OpenAIServer

pytestmark = pytest.mark.django_db(transaction=True)
S = Conversation.Status


def say(conversation_id: int, text: str, client_id: str) -> Message:
    message, _ = services.message_post_from_customer(
        conversation_id, content=text, client_message_id=client_id, request_ai_turn=False
    )
    return message


def ai_replies(conversation_id: int) -> list[str]:
    messages = Message.objects.filter(conversation_id=conversation_id, sender=Message.Sender.AI).order_by("pk")
    return list(messages.values_list("content", flat=True))


def status_of(conversation_id: int) -> str:
    return Conversation.objects.get(pk=conversation_id).status


@pytest.fixture
def echo_server(live_support_inbox):
    """The answer node on the test server's `echo` model, gated: each answer waits for the test."""
    with OpenAIServer() as server:
        ModelProfile.objects.get(name="balanced").deployments.update(
            model="openai/echo", api_base=server.api_base, api_key_encrypted=encrypt_api_key("sk-test")
        )
        gateway.forget_profile()
        server.gate("echo")
        yield server


def turn_in_background(conversation_id: int) -> threading.Thread:
    def run():
        try:
            turns.turn_run(conversation_id)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def conversation_id(live_support_inbox):
    conversation, _, _ = services.conversation_open(live_support_inbox, name="Cleo")
    return conversation.pk


def test_messages_sent_past_the_absorb_limit_are_answered_by_the_next_run(echo_server, conversation_id):
    say(conversation_id, "What is your return policy?", "c-1")
    turn = turn_in_background(conversation_id)
    # Each answer is interrupted by one more line, until the run may fold no more in.
    for number, text in enumerate(["and shipping?", "also", "PayPal?"], start=2):
        echo_server.next_call("echo")
        say(conversation_id, text, f"c-{number}")
        echo_server.let_through("echo")
    echo_server.next_call("echo")  # the next run, for the line the first could not fold in
    echo_server.let_through("echo")
    turn.join(30)

    assert status_of(conversation_id) == S.FINISHED
    first, second = ai_replies(conversation_id)
    assert "return policy" in first and "PayPal" not in first
    assert "PayPal" in second
    assert PipelineRun.objects.filter(conversation_id=conversation_id, status="finished").count() == 2


def test_a_fold_resets_the_loop_bounds_of_a_custom_graph(echo_server, conversation_id):
    bounded = {
        **CUSTOMER_SUPPORT_GRAPH,
        "nodes": [
            {**node, "max_visits": 1} if node["id"] == "answer" else node for node in CUSTOMER_SUPPORT_GRAPH["nodes"]
        ],
    }
    agent = AIAgent.objects.get()
    pipeline_version_pin(pipeline_version_create(agent.pipeline_version.pipeline, graph=bounded, note="bounded"))
    say(conversation_id, "How long does shipping take?", "c-1")
    turn = turn_in_background(conversation_id)
    echo_server.next_call("echo")
    say(conversation_id, "And to Switzerland?", "c-2")
    echo_server.let_through("echo")
    echo_server.next_call("echo")  # the folded question is answered: the bound counts afresh
    echo_server.let_through("echo")
    turn.join(30)

    run = PipelineRun.objects.get(conversation_id=conversation_id)
    assert (run.status, run.reason) == ("finished", "")
    assert "Switzerland" in ai_replies(conversation_id)[0]


def test_a_customer_message_id_cannot_take_the_key_of_an_ai_reply(live_support_inbox, conversation_id):
    say(conversation_id, "How long does shipping take?", "c-1")
    turns.turn_run(conversation_id)
    run = PipelineRun.objects.get(conversation_id=conversation_id)
    # The next run's reply key, chosen as a customer's message id.
    say(conversation_id, "Do you ship to Switzerland?", f"run-{run.pk + 1}-reply")

    turns.turn_run(conversation_id)

    assert len(ai_replies(conversation_id)) == 2
    assert status_of(conversation_id) == S.FINISHED


def test_a_conversation_left_processing_with_nothing_to_answer_is_finished(live_support_inbox, conversation_id):
    say(conversation_id, "How long does shipping take?", "c-1")
    turns.turn_run(conversation_id)
    # As a crash between a reply and the state change could leave it: "typing" with nothing to do.
    Conversation.objects.filter(pk=conversation_id).update(status=S.AI_PROCESSING)
    Conversation.objects.filter(pk=conversation_id).update(last_message_at=timezone.now() - timedelta(minutes=5))

    assert conversation_id in turns.conversations_needing_a_turn(idle_seconds=60)
    turns.turn_run(conversation_id)

    assert status_of(conversation_id) == S.FINISHED
    assert len(ai_replies(conversation_id)) == 1


def test_the_sweep_finds_an_old_unanswered_message_behind_many_idle_conversations(live_support_inbox):
    old, _, _ = services.conversation_open(live_support_inbox, name="Old")
    say(old.pk, "Do you ship to Switzerland?", "c-1")  # its turn request never reached the broker
    idle = []
    for number in range(210):
        # Newer conversations handed back to the AI, with nothing waiting: not the sweep's business.
        conversation, _, _ = services.conversation_open(live_support_inbox, name=f"Idle {number}")
        say(conversation.pk, "Thanks!", "c-1")
        idle.append(conversation.pk)
    Message.objects.filter(conversation_id__in=idle).update(sender=Message.Sender.HUMAN)
    Conversation.objects.filter(pk__in=idle).update(status=S.BACK_TO_AI)
    minutes_ago = timezone.now() - timedelta(minutes=10)
    Conversation.objects.filter(pk=old.pk).update(last_message_at=minutes_ago - timedelta(minutes=10))
    Conversation.objects.filter(pk__in=idle).update(last_message_at=minutes_ago)

    assert turns.conversations_needing_a_turn(idle_seconds=60) == [old.pk]


def test_a_turn_after_a_database_restart_reconnects_its_lock_connection(live_support_inbox, conversation_id):
    say(conversation_id, "How long does shipping take?", "c-1")
    with turns.turn_lock(conversation_id) as held:
        assert held
    # The server ends the lock connection's session, as a restart or failover does.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hil-turn-locks'"
        )

    turns.turn_run(conversation_id)

    assert status_of(conversation_id) == S.FINISHED
    assert turns._connection_for_locks().execute("SELECT 1").fetchone() == (1,)
