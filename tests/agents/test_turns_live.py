"""AI turns end to end: the widget API and socket on the real ASGI server, a live Celery worker,
the Redis channel layer, PostgreSQL, and the local model (or a local OpenAI-compatible server)."""

import json
import os
import signal
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from websockets.sync.client import connect

from agents.llm.keys import encrypt_api_key
from agents.models import Deployment, ModelProfile, PipelineRun, ToolCall
from agents.pipelines import turns
from conversations import services
from conversations.models import Conversation, Message
from hilconsole.celery import app as celery_app
from tests.agents.openai_server import OpenAIServer
from tests.conftest import worker_children
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
SHOP = "https://shop.example"


class Customer:
    """A widget: the HTTP API for sending, the socket for what arrives."""

    def __init__(self, base_url: str, inbox):
        self.base_url = base_url
        started = self.call("/api/widget/v1/conversations", {"customer": {"name": "Cleo"}}, **{
            "X-Inbox-Token": inbox.widget_token})  # fmt: skip
        self.token, self.conversation_id = started["customer_token"], started["conversation_id"]
        ws_url = base_url.replace("http", "ws") + f"/ws/widget/{self.conversation_id}/"
        self.socket = connect(ws_url, origin=SHOP, open_timeout=10).__enter__()
        self.socket.send(json.dumps({"type": "auth", "token": self.token}))
        assert json.loads(self.socket.recv(timeout=10)) == {"type": "ready"}
        self.frames: list[dict] = []
        self.sent = 0

    def call(self, path, body, **headers):
        request = urllib.request.Request(
            self.base_url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "Origin": SHOP, **headers},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def say(self, text: str) -> dict:
        self.sent += 1
        return self.call(
            f"/api/widget/v1/conversations/{self.conversation_id}/messages",
            {"content": text, "client_message_id": f"c-{self.sent}"},
            Authorization=f"Bearer {self.token}",
        )

    def next_frame(self, matches, timeout: float = 60) -> dict:
        """The first frame (seen before or arriving now) for which `matches` holds."""
        for frame in self.frames:
            if matches(frame):
                return frame
        while True:
            frame = json.loads(self.socket.recv(timeout=timeout))
            self.frames.append(frame)
            if matches(frame):
                return frame

    def reply(self, timeout: float = 60) -> dict:
        return self.next_frame(lambda f: f["type"] == "message" and f["message"]["sender"] == "ai", timeout)["message"]

    def status(self, status: str, timeout: float = 60) -> dict:
        return self.next_frame(lambda f: f["type"] == "status" and f["status"] == status, timeout)

    def close(self):
        self.socket.__exit__(None, None, None)


@pytest.fixture
def customer(live_server_url, live_support_inbox):
    Conversation.objects.filter(inbox=live_support_inbox).delete()
    customer = Customer(live_server_url, live_support_inbox)
    yield customer
    customer.close()


def served_by(server: OpenAIServer, profile: ModelProfile, model: str, position: int = 0) -> Deployment:
    """Point the profile at the local OpenAI-compatible server (its first call replaces the rest)."""
    if position == 0:
        profile.deployments.all().delete()
    return Deployment.objects.create(
        profile=profile, position=position, model=f"openai/{model}", api_base=server.api_base,
        api_key_encrypted=encrypt_api_key("sk-test"), timeout_seconds=10,
    )  # fmt: skip


def the_conversation(customer) -> Conversation:
    return Conversation.objects.get(pk=customer.conversation_id)


def test_a_faq_is_answered_in_the_widget_with_the_cited_article(live_worker, customer):
    customer.say("How long does shipping take?")

    reply = customer.reply()
    assert reply["sources"] == ["Shipping times and costs"]
    assert "[1]" in reply["content"]
    customer.status("finished")
    assert PipelineRun.objects.get().status == PipelineRun.Status.FINISHED


def test_asking_for_a_human_hands_over_with_a_brief(live_worker, customer):
    customer.say("I want to talk to a human")

    assert "person from our team" in customer.reply()["content"]
    customer.status("pending_human")
    conversation = the_conversation(customer)
    assert conversation.handover_reason == turns.REASONS["human_request"]
    assert conversation.handover_intent == "human_request"
    assert conversation.handover_confidence == 1.0
    assert "talk to a human" in conversation.handover_summary


def test_an_unrelated_message_hands_over_on_low_confidence(live_worker, customer):
    customer.say("What is the capital of Peru?")

    customer.status("pending_human")
    conversation = the_conversation(customer)
    assert conversation.handover_reason == turns.REASONS["low_confidence"]
    assert conversation.handover_confidence < live_support_agent_threshold()


def live_support_agent_threshold() -> float:
    return PipelineRun.objects.get().agent.confidence_threshold


def test_a_provider_outage_hands_over_with_an_apology(live_worker, customer):
    with OpenAIServer() as server:
        for profile in ModelProfile.objects.all():
            profile.deployments.all().delete()
            for position in (0, 1):
                served_by(server, profile, "broken", position=position)
        customer.say("Which payment methods do you accept?")

        assert customer.reply()["content"].startswith("Sorry, I'm having trouble answering")
        customer.status("pending_human")
    assert the_conversation(customer).handover_reason == turns.REASONS["ai_unavailable"]
    assert server.requests["broken"] >= 2  # every deployment was tried
    run = PipelineRun.objects.get()
    assert run.reason == "ai_unavailable"
    assert run.steps.filter(node="classify", status="error").exists()


def test_a_worker_killed_mid_turn_loses_nothing_and_repeats_nothing(live_worker, customer, demo_orders_committed):
    with OpenAIServer() as server:
        served_by(server, ModelProfile.objects.get(name="balanced"), "shopper")
        # The model's second call (with the tool's answer) waits: the worker is mid-turn, its
        # tool call done, its reply not yet sent.
        server.hold("shopper", when=lambda body: body["messages"][-1]["role"] == "tool")
        customer.say("Where is my order 100234?")
        assert server.arrived["shopper"].wait(60)

        for pid in worker_children(live_worker):
            os.kill(pid, signal.SIGKILL)
        server.release("shopper")

        reply = customer.reply()
    assert reply["content"] == "Order 100234 is shipped."
    wait_until(lambda: the_conversation(customer).status == "finished", "the turn to finish")
    conversation = the_conversation(customer)
    assert conversation.messages.filter(sender=Message.Sender.CUSTOMER).count() == 1
    assert conversation.messages.filter(sender=Message.Sender.AI).count() == 1
    (call,) = ToolCall.objects.all()
    assert call.attempts == 1  # the shop was asked once; the resumed turn got the stored answer
    run = PipelineRun.objects.get()
    nodes = list(run.steps.values_list("node", flat=True))
    assert nodes == ["guard", "retrieve", "classify", "answer", "reply"]  # no node ran twice to completion
    assert run.steps.get(node="answer").tools == [{"name": "get_order_status", "outcome": "ok", "replayed": True}]


def test_two_quick_messages_get_one_coherent_answer(live_worker, customer):
    with OpenAIServer() as server:
        served_by(server, ModelProfile.objects.get(name="balanced"), "ok")
        server.hold("ok")
        customer.say("How long does shipping take?")
        assert server.arrived["ok"].wait(60)
        customer.say("Do you ship to Switzerland?")  # arrives while the first turn runs
        server.release("ok")

        reply = customer.reply()
        customer.status("finished")
    conversation = the_conversation(customer)
    assert list(conversation.messages.filter(sender=Message.Sender.AI).values_list("content", flat=True)) == [
        reply["content"]
    ]
    run = PipelineRun.objects.get()
    assert len(run.state["message_ids"]) == 2
    assert "Switzerland" in run.steps.filter(node="answer").last().input["question"]


def test_the_beat_sweep_answers_a_message_whose_turn_request_was_lost(live_worker, live_support_inbox):
    conversation, _, _ = services.conversation_open(live_support_inbox, name="Cleo")
    # As if the broker was down when the message came in: stored, but no turn was requested.
    services.message_post_from_customer(
        conversation.pk, content="Do you ship to Switzerland?", client_message_id="c-1", request_ai_turn=False
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=timezone.now() - timedelta(minutes=5))

    swept = celery_app.send_task("agents.resume_stalled_turns").get(timeout=30)

    assert swept == [conversation.pk]
    wait_until(lambda: Conversation.objects.get(pk=conversation.pk).status == "finished", "the swept turn to finish")
    assert Message.objects.filter(conversation=conversation, sender=Message.Sender.AI).count() == 1


@pytest.mark.django_db
def test_the_sweep_is_installed_for_beat():
    task = PeriodicTask.objects.get(task="agents.resume_stalled_turns")

    assert (task.enabled, task.interval.every, task.interval.period) == (True, 30, "seconds")
