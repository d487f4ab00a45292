"""The tools act for the conversation's customer, never for whoever types an order number: the
demo shop answers a verified customer with their own orders only, and an anonymous visitor with
what its public tracking page shows. Through the real demo shop over HTTP and real AI turns."""

import json
import logging
from dataclasses import replace

import pytest

from agents.models import AIAgent, DemoOrder, RunStep, Tool, ToolCall
from agents.pipelines import nodes, turns
from agents.tools import idempotency_key_for, tool_call
from agents.tools.registry import DECLARED
from conversations import services
from conversations.models import Message
from tests.agents.openai_server import OpenAIServer
from tests.agents.test_pipeline_turns import answered_by

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_shop_api", "demo_orders")]
ANA = "ana.silva@demo.example"
ANAS_ACCOUNT = "shop-ana"  # the demo shop's id of Ana's account: what the shop signs
ANAS_ADDRESS = "Rua das Flores 12, 1200-195 Lisboa, PT"


def visitor(inbox, **claims):
    conversation, _, _ = services.conversation_open(inbox, name="Visitor", **claims)
    return conversation


def signed_in(inbox, identifier=ANAS_ACCOUNT):
    conversation, _, _ = services.conversation_open(
        inbox, identifier=identifier, identifier_hash=inbox.identifier_hash(identifier), name="Ana", email=ANA
    )
    return conversation


def call(conversation, name, arguments, step=1, approved=False):
    key = idempotency_key_for(run_id=conversation.pk, step_id=step, name=name)
    return tool_call(name, arguments, idempotency_key=key, conversation_id=conversation.pk, approved=approved)


def ask(conversation, text):
    services.message_post_from_customer(conversation.pk, content=text, client_message_id="c-1", request_ai_turn=False)
    turns.turn_run(conversation.pk)
    return list(conversation.messages.filter(sender=Message.Sender.AI).values_list("content", flat=True))


# The tools ---------------------------------------------------------------------------------


def test_an_anonymous_visitor_gets_only_what_a_public_tracking_page_shows(live_support_inbox):
    conversation = visitor(live_support_inbox, email=ANA, identifier=ANAS_ACCOUNT)  # claims, not proof

    result = call(conversation, "get_order_status", {"order_number": "100234"})

    assert result.ok
    assert {key: result.content[key] for key in ("number", "status", "carrier")} == {
        "number": "100234",
        "status": "shipped",
        "carrier": "DHL",
    }
    assert set(result.content) == {"number", "status", "carrier", "details"}
    assert "sign in" in result.content["details"]
    assert ANAS_ADDRESS not in result.message_for_llm() and "89.90" not in result.message_for_llm()


def test_a_verified_customer_sees_their_own_order_in_full(live_support_inbox):
    result = call(signed_in(live_support_inbox), "get_order_status", {"order_number": "100234"})

    assert (result.content["shipping_address"], result.content["total"]) == (ANAS_ADDRESS, "89.90")
    assert result.content["carrier"] == "DHL"


def test_another_customers_order_does_not_exist_for_a_verified_customer(live_support_inbox):
    result = call(signed_in(live_support_inbox), "get_order_status", {"order_number": "100412"})

    assert (result.ok, result.code, result.error) == (False, "tool_error", "No order 100412.")


def test_recent_orders_are_the_verified_customers_own_whatever_email_the_model_passes(live_support_inbox):
    ana = signed_in(live_support_inbox)

    result = call(ana, "list_recent_orders", {"email": "marc.dubois@demo.example"})

    assert [order["number"] for order in result.content["orders"]] == ["100234", "100235"]
    assert "shipping_address" not in json.dumps(result.content)


def test_an_anonymous_visitor_is_asked_to_sign_in_for_a_list_of_orders(live_support_inbox):
    result = call(visitor(live_support_inbox), "list_recent_orders", {"email": ANA})

    assert (result.ok, result.code) == (False, "tool_error")
    assert "sign in" in result.error
    assert ToolCall.objects.get().error == result.error


def test_approved_changes_are_made_only_for_the_verified_customer_and_their_own_orders(live_support_inbox):
    anonymous = call(visitor(live_support_inbox), "request_refund", {
        "order_number": "100234", "amount": 10, "reason": "Arrived late"}, approved=True)  # fmt: skip
    ana = signed_in(live_support_inbox)
    on_marcs_order = call(ana, "update_shipping_address", {
        "order_number": "100412", "address": "Rua Augusta 1, Lisboa"}, approved=True)  # fmt: skip
    on_her_own = call(ana, "request_refund", {"order_number": "100234", "amount": 10, "reason": "Late"}, 2, True)

    assert "sign in" in anonymous.error
    assert on_marcs_order.error == "No order 100412."
    assert DemoOrder.objects.get(number="100412").shipping_address == "12 rue Oberkampf, 75011 Paris, FR"
    assert on_her_own.ok and str(DemoOrder.objects.get(number="100234").refunded_amount) == "10.00"


def test_a_customers_cached_answer_is_never_served_to_an_anonymous_visitor(live_support_inbox):
    assert (
        "shipping_address"
        in call(signed_in(live_support_inbox), "get_order_status", {"order_number": "100234"}).content
    )

    after = call(visitor(live_support_inbox), "get_order_status", {"order_number": "100234"})

    assert not after.cached and "shipping_address" not in after.content


# AI turns ----------------------------------------------------------------------------------


def test_an_anonymous_visitor_asking_where_an_order_is_never_sees_its_address(live_support_inbox):
    replies = ask(visitor(live_support_inbox), "Where is my order 100234?")

    assert len(replies) == 1 and "shipped" in replies[0]
    assert "Rua das Flores" not in replies[0] and "89.90" not in replies[0]


def test_a_signed_in_customer_gets_their_orders_details_from_the_ai(live_support_inbox):
    replies = ask(signed_in(live_support_inbox), "Where is my order 100234?")

    # Only the owner's view of the order has when it was placed (the public tracking has not).
    assert "shipped" in replies[0] and "placed on" in replies[0]


def test_a_model_dumping_a_tool_answer_shows_an_anonymous_visitor_no_private_field(live_support_inbox, monkeypatch):
    # A tool that forgets whom it answers: the answer node still keeps the address out of the reply.
    careless = DECLARED["get_order_status"].function

    def ignores_the_customer(arguments, context):
        return careless(arguments, context) | {"shipping_address": ANAS_ADDRESS, "customer_email": ANA}

    monkeypatch.setitem(
        DECLARED, "get_order_status", replace(DECLARED["get_order_status"], function=ignores_the_customer)
    )
    with OpenAIServer() as server:
        answered_by(server, "dumper")

        anonymous = ask(visitor(live_support_inbox), "Where is my order 100234?")
        ana = ask(signed_in(live_support_inbox), "Where is my order 100234?")

    assert anonymous == [nodes.SIGN_IN_FIRST]
    assert RunStep.objects.filter(node="answer").order_by("pk").first().output["withheld"] == "private_data"
    assert ANAS_ADDRESS in ana[0]


def test_the_tool_loop_refuses_a_tool_the_agent_may_not_use(live_support_inbox, caplog):
    AIAgent.objects.get().allowed_tools.set(Tool.objects.filter(name="search_knowledge_base"))
    with OpenAIServer() as server, caplog.at_level(logging.WARNING, logger="agents.pipelines.nodes"):
        answered_by(server, "dumper")  # asks for get_order_status, which it was not offered

        replies = ask(visitor(live_support_inbox), "Where is my order 100234?")

    answer = RunStep.objects.get(node="answer")
    assert answer.tools[0] == {"name": "get_order_status", "outcome": "not_allowed"}
    told = json.loads(server.bodies[-1]["messages"][-1]["content"])
    assert told == {"error": "The tool get_order_status is not available to you; do not call it."}
    assert replies == [json.dumps(told)]
    assert ToolCall.objects.count() == 0
    assert "a tool its AI agent may not use" in caplog.text
