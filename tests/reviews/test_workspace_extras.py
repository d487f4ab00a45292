"""The workspace's helpers: the AI-suggested reply drafted from the knowledge base, and the AI
run trace panel."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from agents.knowledge.services import knowledge_demo_ensure
from agents.models import LLMCall, PipelineRun
from agents.pipelines import turns
from conversations import services as conversations
from reviews import services
from tests.reviews.conftest import hand_over

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_a_suggested_reply_is_drafted_from_the_knowledge_base_for_the_agent_to_edit(client, ana, inbox):
    knowledge_demo_ensure()
    conversation = hand_over(inbox, text="How long until my money comes back after a return?")
    services.handover_claim(ana, conversation.pk)
    client.force_login(ana)

    response = client.post(reverse("desk:suggest", args=[conversation.pk]), **HTMX)

    page = response.content.decode()
    assert response.status_code == 200 and page.startswith('<textarea id="reply-content"')
    assert "money back" in page
    assert LLMCall.objects.filter(conversation_id=conversation.pk, purpose="answer").exists()
    assert not conversation.messages.filter(sender="human").exists(), "nothing is sent until the agent sends it"


def test_without_knowledge_on_the_question_the_agent_is_told_to_write_it(client, ana, inbox):
    conversation = hand_over(inbox, text="zxqv")
    services.handover_claim(ana, conversation.pk)
    client.force_login(ana)

    response = client.post(reverse("desk:suggest", args=[conversation.pk]), **HTMX)

    assert response.status_code == 409 and "write the reply yourself" in response.content.decode()


def test_the_suggestion_answers_the_customers_latest_words(inbox, ana):
    conversation = hand_over(inbox, text="Hello")
    services.handover_claim(ana, conversation.pk)
    conversations.message_post_from_human(conversation.pk, agent=ana, content="Hi! How can I help?")
    conversations.message_post_from_customer(conversation.pk, content="Where is my parcel?", client_message_id="x")
    conversations.message_post_from_customer(conversation.pk, content="It is late", client_message_id="y")

    from reviews.selectors import latest_customer_words

    assert latest_customer_words(conversation) == "Where is my parcel?\nIt is late"


def test_the_workspace_shows_the_trace_of_the_run_that_handed_over(client, support_agent, support_conversation):
    conversations.message_post_from_customer(
        support_conversation.pk, content="Please refund 25 euros on order 100234, the item arrived broken",
        client_message_id="c-1", request_ai_turn=False,
    )  # fmt: skip
    turns.turn_run(support_conversation.pk)  # a refund needs a reviewer: the AI hands over
    services.human_agent_profile_ensure(support_agent, skills=["billing"], max_concurrent=3)
    services.inbox_grant(support_agent, support_conversation.inbox)
    client.force_login(support_agent)
    run = PipelineRun.objects.get()

    html = client.get(reverse("desk:conversation", args=[support_conversation.pk])).content.decode()

    assert f"Run #{run.pk}" in html and run.trace_id in html
    assert "<strong>classify</strong>" in html and "intent <strong>refund</strong>" in html
    assert "<code>request_refund</code> → needs_approval" in html
    assert "local/hil-small" in html and "No AI runs for this conversation" not in html


def test_the_run_trace_has_an_empty_state():
    assert "No AI runs for this conversation" in render_to_string("reviews/_run_trace.html", {"run_traces": []})
