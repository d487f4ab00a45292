"""The workspace's helpers: the AI-suggested reply drafted from the knowledge base, and the AI
run trace panel."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from agents.knowledge.services import knowledge_demo_ensure
from agents.models import LLMCall
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


def test_the_run_trace_shows_steps_tools_and_confidence():
    traces = [
        {
            "run_id": 7, "trace_id": "abc123", "status": "handed_over", "started_at": timezone.now(),
            "steps": [
                {"node": "classify", "type": "llm", "status": "ok", "model": "local/hil-small", "tokens": 42,
                 "cost": 0.0012, "latency_ms": 12.4, "tool": "", "outcome": "", "intent": "refund",
                 "confidence": 0.41, "error": ""},
                {"node": "answer", "type": "tool", "status": "failed", "model": "", "tokens": 0, "cost": 0.0,
                 "latency_ms": 900.0, "tool": "request_refund", "outcome": "timeout", "intent": "",
                 "confidence": None, "error": "The shop did not answer"},
            ],
        }
    ]  # fmt: skip

    html = render_to_string("reviews/_run_trace.html", {"run_traces": traces})

    assert "Run #7" in html and "abc123" in html
    assert "classify" in html and "intent <strong>refund</strong>" in html and "41%" in html
    assert "<code>request_refund</code> → timeout" in html and "The shop did not answer" in html
    assert "42 tokens" in html and "$0.0012" in html
    assert "No AI runs for this conversation" not in html


def test_the_run_trace_has_an_empty_state():
    assert "No AI runs for this conversation" in render_to_string("reviews/_run_trace.html", {"run_traces": []})
