"""AI turns run in this process (the same code a worker runs), one behaviour per test."""

import pytest

from agents.models import PipelineRun, RunStep
from agents.pipelines import runner
from conversations import services
from conversations.models import Conversation, Message

pytestmark = pytest.mark.django_db


def ask(conversation, text, number=1):
    services.message_post_from_customer(
        conversation.pk, content=text, client_message_id=f"c-{number}", request_ai_turn=False
    )
    runner.turn_run(conversation.pk)
    conversation.refresh_from_db()
    return conversation


def replies(conversation):
    return list(conversation.messages.filter(sender=Message.Sender.AI).values_list("content", flat=True))


def test_a_faq_is_answered_with_the_cited_article(support_conversation):
    conversation = ask(support_conversation, "How long does shipping take?")

    assert conversation.status == Conversation.Status.FINISHED
    reply = conversation.messages.get(sender=Message.Sender.AI)
    assert reply.metadata["citations"][0]["title"] == "Shipping times and costs"
    run = PipelineRun.objects.get(conversation=conversation)
    assert run.status == PipelineRun.Status.FINISHED
    assert [step.node for step in run.steps.all()] == ["guard", "classify", "retrieve", "answer", "reply"]


def test_asking_for_a_person_hands_over_with_a_brief(support_conversation):
    conversation = ask(support_conversation, "I want to talk to a human")

    assert conversation.status == Conversation.Status.PENDING_HUMAN
    assert conversation.handover_intent == "human_request"
    assert conversation.handover_reason == runner.REASONS["human_request"]
    assert "talk to a human" in conversation.handover_summary
    assert "person from our team" in replies(conversation)[-1]


def test_a_retried_step_does_not_repeat(support_conversation):
    conversation = ask(support_conversation, "Do you ship to Switzerland?")
    run = PipelineRun.objects.get(conversation=conversation)
    assert RunStep.objects.filter(run=run).count() == 5
