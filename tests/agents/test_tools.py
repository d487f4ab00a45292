"""The tool registry: declared tools, their rows and kill switch, and calls to the real demo shop
over HTTP (the ASGI server on the test database), so timeouts and retries are real ones."""

import time
from decimal import Decimal

import pytest
from django.urls import reverse

from agents.models import DemoOrder, KnowledgeDocument, Tool, ToolCall
from agents.tools import (
    GATED,
    SAFE,
    DeclaredTool,
    ToolError,
    declare,
    idempotency_key_for,
    tool_call,
    tools_for_llm,
    tools_sync,
)
from agents.tools.demo import OrderLookup, RefundRequest, shop_request
from agents.tools.registry import DECLARED
from conversations.services import conversation_open, inbox_ensure
from tests.processes import free_port, wait_until

pytestmark = pytest.mark.usefixtures("forget_tool_answers")
over_http = pytest.mark.django_db(transaction=True)
DEMO_TOOLS = {
    "get_order_status",
    "list_recent_orders",
    "request_refund",
    "update_shipping_address",
    "search_knowledge_base",
}


@pytest.fixture
def tool_for_this_test(monkeypatch):
    """Declare a tool for one test (its row included); the registry is restored afterwards."""

    def add(name, function, *, arguments=OrderLookup, **limits) -> DeclaredTool:
        declared = DeclaredTool(
            name=name, description=f"{name} (test)", arguments=arguments, function=function, **limits
        )
        monkeypatch.setitem(DECLARED, name, declared)
        tools_sync()
        return declared

    return add


def key(step: int, name: str = "get_order_status") -> str:
    return idempotency_key_for(run_id=1, step_id=step, name=name)


def refund(amount, step=1, conversation=None, **arguments):
    arguments = {"order_number": "100234", "amount": amount, "reason": "Arrived late"} | arguments
    return tool_call(
        "request_refund", arguments, idempotency_key=key(step, "request_refund"), approved=True,
        conversation_id=conversation and conversation.pk,
    )  # fmt: skip


def refunded(number: str = "100234") -> Decimal:
    return DemoOrder.objects.get(number=number).refunded_amount


# Declarations and their rows ---------------------------------------------------------------------


@pytest.mark.django_db
def test_declared_tools_have_their_rows_once_migrated():
    tools = {tool.name: tool for tool in Tool.objects.all()}

    assert DEMO_TOOLS <= set(tools)
    assert {name for name, tool in tools.items() if tool.risk == GATED} == {"request_refund", "update_shipping_address"}
    refund_row = tools["request_refund"]
    assert refund_row.enabled and refund_row.declared
    assert (refund_row.timeout_seconds, refund_row.retries, refund_row.cache_ttl_seconds) == (10, 2, 0)
    assert refund_row.argument_schema["required"] == ["order_number", "amount", "reason"]


@pytest.mark.django_db
def test_tools_sync_marks_removed_tools_undeclared_and_never_touches_the_switch():
    Tool.objects.create(
        name="cancel_order",
        description="Gone from the code",
        risk=GATED,
        timeout_seconds=1,
        retries=0,
        cache_ttl_seconds=0,
    )
    Tool.objects.filter(name="get_order_status").update(enabled=False, description="Edited by hand", retries=9)

    synced = tools_sync()

    assert synced == {"created": [], "updated": ["get_order_status"], "undeclared": ["cancel_order"]}
    gone, status = Tool.objects.get(name="cancel_order"), Tool.objects.get(name="get_order_status")
    assert (gone.declared, gone.enabled) == (False, True)
    assert (status.declared, status.enabled, status.retries) == (True, False, 2)
    assert status.description.startswith("Look up one order")
    assert tools_sync() == {"created": [], "updated": [], "undeclared": []}
    assert tool_call("cancel_order", {}, idempotency_key=key(1)).code == "unknown_tool"


def test_a_gated_tool_cannot_be_declared_with_a_cache():
    with pytest.raises(ValueError, match="must not be cached"):
        declare(name="wire_money", description="…", arguments=OrderLookup, risk=GATED, cache_ttl_seconds=60)


@pytest.mark.django_db
def test_tools_for_llm_describes_enabled_tools_in_openai_format_and_leaves_out_switched_off_ones():
    Tool.objects.filter(name="request_refund").update(enabled=False)

    specs = tools_for_llm(["get_order_status", "request_refund", "update_shipping_address", "no_such_tool"])

    assert [spec["function"]["name"] for spec in specs] == ["get_order_status", "update_shipping_address"]
    assert specs[0] == {
        "type": "function",
        "function": {
            "name": "get_order_status",
            "description": DECLARED["get_order_status"].description,
            "parameters": {
                "type": "object",
                "properties": {
                    "order_number": {
                        "type": "string",
                        "title": "Order Number",
                        "pattern": r"^\d{4,12}$",
                        "description": "The order number, digits only, e.g. 100234.",
                    }
                },
                "required": ["order_number"],
                "additionalProperties": False,
            },
        },
    }
    assert "request_refund" not in {spec["function"]["name"] for spec in tools_for_llm()}


@pytest.mark.django_db
def test_a_tool_spec_changed_by_one_caller_is_whole_for_the_next():
    [first] = tools_for_llm(["get_order_status"])
    first["function"]["parameters"]["properties"].clear()
    first["function"]["parameters"]["required"].append("shipping_address")

    [second] = tools_for_llm(["get_order_status"])

    assert list(second["function"]["parameters"]["properties"]) == ["order_number"]
    assert second["function"]["parameters"]["required"] == ["order_number"]


def test_idempotency_keys_are_derived_from_the_run_step_and_the_tool():
    assert idempotency_key_for(7, 42, "request_refund") == idempotency_key_for(7, 42, "request_refund")
    assert len({key(1), key(2), key(1, "request_refund"), idempotency_key_for(1, 1, "get_order_status", 1)}) == 4


# Refusals before any call ------------------------------------------------------------------------


@over_http
def test_invalid_arguments_are_refused_naming_the_field_and_nothing_is_called(demo_shop_api, demo_orders):
    result = refund(-5)

    assert (result.ok, result.code, result.attempts) == (False, "invalid_arguments", 0)
    assert result.error == "Invalid arguments for request_refund: amount: Input should be greater than 0"
    invented = refund(5, step=2, currency="USD")
    assert "currency: Extra inputs are not permitted" in invented.error
    missing = tool_call("get_order_status", {}, idempotency_key=key(3))
    assert missing.error == "Invalid arguments for get_order_status: order_number: Field required"
    assert ToolCall.objects.count() == 0 and refunded() == 0


@over_http
def test_switching_a_tool_off_refuses_the_very_next_call(demo_shop_api, demo_orders):
    assert tool_call("get_order_status", {"order_number": "100234"}, idempotency_key=key(1)).ok

    Tool.objects.filter(name="get_order_status").update(enabled=False)
    result = tool_call("get_order_status", {"order_number": "100412"}, idempotency_key=key(2))

    assert (result.ok, result.code) == (False, "switched_off")
    assert result.error == "The tool get_order_status is switched off by an administrator: do not use it."
    assert ToolCall.objects.count() == 1


@pytest.mark.django_db
def test_an_admin_switches_a_tool_off_from_the_tool_list(client, site_admin):
    client.force_login(site_admin)
    tools = list(Tool.objects.all())
    formset = {"form-TOTAL_FORMS": len(tools), "form-INITIAL_FORMS": len(tools), "_save": "Save"}
    for index, tool in enumerate(tools):
        formset[f"form-{index}-id"] = tool.pk
        if tool.name != "request_refund":
            formset[f"form-{index}-enabled"] = "on"

    response = client.post(reverse("admin:agents_tool_changelist"), formset)

    assert response.status_code == 302
    assert set(Tool.objects.filter(enabled=False).values_list("name", flat=True)) == {"request_refund"}
    assert refund(5).code == "switched_off"


@pytest.mark.django_db
def test_the_admin_shows_a_tool_and_its_calls_read_only(client, site_admin, tool_for_this_test):
    tool_for_this_test("echo_order", lambda arguments, context: {"number": arguments.order_number})
    tool_call("echo_order", {"order_number": "100234"}, idempotency_key=key(1))
    client.force_login(site_admin)

    tool_page = client.get(reverse("admin:agents_tool_change", args=[Tool.objects.get(name="echo_order").pk]))
    call_page = client.get(reverse("admin:agents_toolcall_change", args=[ToolCall.objects.get().pk]))

    assert tool_page.status_code == call_page.status_code == 200
    assert 'name="enabled"' in tool_page.content.decode() and 'name="description"' not in tool_page.content.decode()
    assert "order_number" in tool_page.content.decode()
    assert key(1) in call_page.content.decode() and 'name="_save"' not in call_page.content.decode()


@pytest.mark.django_db
def test_a_gated_tool_runs_only_once_a_reviewer_approved_the_call(demo_orders):
    arguments = {"order_number": "100234", "amount": 5, "reason": "Arrived late"}

    result = tool_call("request_refund", arguments, idempotency_key=key(1, "request_refund"))

    assert (result.ok, result.code) == (False, "needs_approval")
    assert ToolCall.objects.count() == 0 and refunded() == 0


# Calls to the demo shop ------------------------------------------------------------------------------


@over_http
def test_a_refund_is_made_in_the_shop_and_recorded(demo_shop_api, demo_orders, anas_conversation):
    result = refund(19.9, conversation=anas_conversation)

    assert (result.ok, result.attempts, result.cached, result.replayed) == (True, 1, False, False)
    assert result.content["refund"] == {"amount": "19.90", "reason": "Arrived late"}
    assert refunded() == Decimal("19.90")
    call = ToolCall.objects.get()
    assert (call.tool.name, call.idempotency_key, call.attempts) == ("request_refund", key(1, "request_refund"), 1)
    assert call.arguments == {"order_number": "100234", "amount": 19.9, "reason": "Arrived late"}
    assert call.result == result.content and call.error == ""


@over_http
def test_the_same_idempotency_key_twice_refunds_once_and_answers_the_same(
    demo_shop_api, demo_orders, anas_conversation
):
    first = refund(30, conversation=anas_conversation)
    again = refund(30, conversation=anas_conversation)

    assert again.replayed and (again.ok, again.content) == (True, first.content)
    assert refunded() == Decimal("30.00")
    assert ToolCall.objects.count() == 1


@over_http
def test_reusing_an_idempotency_key_for_other_arguments_is_refused(demo_shop_api, demo_orders, anas_conversation):
    refund(30, conversation=anas_conversation)

    other = refund(40, conversation=anas_conversation)

    assert (other.ok, other.code) == (False, "idempotency_conflict")
    assert refunded() == Decimal("30.00")


@over_http
def test_a_refusal_by_the_shop_is_a_tool_error_the_ai_can_read_and_is_not_retried(
    demo_shop_api, demo_orders, anas_conversation
):
    result = refund(500, conversation=anas_conversation)

    assert (result.ok, result.code, result.attempts) == (False, "tool_error", 1)
    assert result.error == "A refund of 500.00 EUR exceeds the 89.90 EUR still refundable on order 100234."
    assert result.message_for_llm() == f'{{"error": "{result.error}"}}'
    assert ToolCall.objects.get().error == result.error


@over_http
def test_the_demo_tools_answer_from_the_shop(demo_shop_api, demo_orders, anas_conversation):
    def call(name, arguments, step, conversation=anas_conversation):
        return tool_call(
            name, arguments, idempotency_key=key(step, name), approved=True, conversation_id=conversation.pk
        )

    shop, marc = anas_conversation.inbox, "shop-marc"
    marcs = conversation_open(shop, identifier=marc, identifier_hash=shop.identifier_hash(marc))[0]
    status = call("get_order_status", {"order_number": "#100 235"}, 1)
    orders = call("list_recent_orders", {"limit": 1}, 2)
    moved = call("update_shipping_address", {"order_number": 100412, "address": "Rue de Rivoli 1, Paris"}, 3, marcs)
    refused = call("update_shipping_address", {"order_number": "100234", "address": "Rue de Rivoli 1, Paris"}, 4)
    unknown = call("get_order_status", {"order_number": "999999"}, 5)

    assert (status.content["status"], status.content["refundable_amount"]) == ("delivered", "24.50")
    assert "customer_email" not in status.content
    assert [found["number"] for found in orders.content["orders"]] == ["100234"]
    assert moved.content["order"]["shipping_address"] == "Rue de Rivoli 1, Paris"
    assert refused.error == "Order 100234 has already shipped: its address can no longer change."
    assert (unknown.code, unknown.error) == ("tool_error", "No order 999999.")


# Timeouts, retries, failures ---------------------------------------------------------------------------


@over_http
def test_a_timeout_is_a_tool_error_after_every_attempt(demo_shop_api, demo_orders, tool_for_this_test):
    def slow_order_status(arguments, context):
        return shop_request(context, "GET", f"orders/{arguments.order_number}", params={"delay": 1})

    tool_for_this_test("slow_order_status", slow_order_status, timeout_seconds=0.3, retries=2)
    started = time.monotonic()

    result = tool_call("slow_order_status", {"order_number": "100234"}, idempotency_key=key(1))

    assert (result.ok, result.code, result.attempts) == (False, "timeout", 3)
    assert result.error == "slow_order_status timed out: no answer within 0.3 s (3 attempts)."
    # Three attempts of 0.3 s, with 0.2 s and 0.4 s of backoff between them.
    assert 1.4 <= time.monotonic() - started < 5
    assert ToolCall.objects.get().attempts == 3


@over_http
def test_a_refund_retried_after_timeouts_is_made_once_in_the_shop(demo_shop_api, demo_orders, tool_for_this_test):
    def slow_refund(arguments, context):
        body = {"amount": f"{arguments.amount:.2f}", "reason": arguments.reason}
        return shop_request(context, "POST", "orders/100234/refund", params={"delay": 0.5}, body=body)

    tool_for_this_test("slow_refund", slow_refund, arguments=RefundRequest, timeout_seconds=0.2, retries=2)

    result = tool_call("slow_refund", {"order_number": "100234", "amount": 10, "reason": "Late"}, idempotency_key="k")

    assert (result.code, result.attempts) == ("timeout", 3)
    # The shop still works through all three requests after the tool gave up on them.
    wait_until(lambda: refunded() > 0, "the first request to refund")
    time.sleep(1.5)
    assert refunded() == Decimal("10.00")


@pytest.mark.django_db
def test_an_unreachable_shop_is_retried_then_reported(settings, demo_orders):
    settings.DEMO_SHOP_URL = f"http://127.0.0.1:{free_port()}"

    result = tool_call("get_order_status", {"order_number": "100234"}, idempotency_key=key(1))

    assert (result.ok, result.code, result.attempts) == (False, "unreachable", 3)
    assert result.error.startswith("get_order_status could not get an answer:")
    assert result.error.endswith("(3 attempts).")


@pytest.mark.django_db
def test_a_tool_that_crashes_becomes_a_tool_error_not_an_exception(tool_for_this_test):
    def broken(arguments, context):
        raise KeyError("status")

    tool_for_this_test("broken_lookup", broken, retries=2)

    result = tool_call("broken_lookup", {"order_number": "100234"}, idempotency_key=key(1))

    assert (result.ok, result.code, result.attempts) == (False, "failed", 1)
    assert result.error == "broken_lookup failed unexpectedly (KeyError)."
    assert ToolCall.objects.get().error == result.error


@pytest.mark.django_db
def test_a_failed_call_is_answered_the_same_when_its_step_is_replayed(tool_for_this_test):
    calls = []

    def refusing(arguments, context):
        calls.append(arguments)
        raise ToolError("The warehouse is closed.")

    tool_for_this_test("refusing_lookup", refusing)

    first = tool_call("refusing_lookup", {"order_number": "100234"}, idempotency_key=key(1))
    again = tool_call("refusing_lookup", {"order_number": "100234"}, idempotency_key=key(1))

    assert (again.ok, again.error, again.code, again.replayed) == (False, first.error, "tool_error", True)
    assert len(calls) == 1


# The cache ---------------------------------------------------------------------------------------------


@over_http
def test_a_safe_tools_answer_comes_from_the_cache_until_it_expires(demo_shop_api, demo_orders):
    first = tool_call("get_order_status", {"order_number": "100412"}, idempotency_key=key(1))
    DemoOrder.objects.filter(number="100412").update(status=DemoOrder.Status.SHIPPED)

    cached = tool_call("get_order_status", {"order_number": "100412"}, idempotency_key=key(2))

    assert (first.cached, first.attempts) == (False, 1)
    assert (cached.cached, cached.attempts, cached.content) == (True, 0, first.content)
    assert cached.content["status"] == "processing"
    assert ToolCall.objects.filter(attempts=0).count() == 1


@pytest.mark.django_db
def test_the_cache_is_only_for_safe_tools_with_a_ttl(tool_for_this_test):
    calls = []

    def counted(arguments, context):
        calls.append(context.idempotency_key)
        return {"calls": len(calls)}

    tool_for_this_test("uncached_lookup", counted)
    tool_for_this_test("gated_lookup", counted, risk=GATED, cache_ttl_seconds=0)
    tool_for_this_test("cached_lookup", counted, risk=SAFE, cache_ttl_seconds=60)
    for step in (1, 2):
        for name in ("uncached_lookup", "gated_lookup", "cached_lookup"):
            tool_call(name, {"order_number": "100234"}, idempotency_key=key(step, name), approved=True)

    assert calls == [key(1, "uncached_lookup"), key(1, "gated_lookup"), key(1, "cached_lookup")] + [
        key(2, "uncached_lookup"),
        key(2, "gated_lookup"),
    ]


# The knowledge base tool ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_search_knowledge_base_refuses_a_query_that_is_too_short():
    result = tool_call("search_knowledge_base", {"query": "?"}, idempotency_key=key(1))

    assert (result.code, result.error) == (
        "invalid_arguments",
        "Invalid arguments for search_knowledge_base: query: String should have at least 2 characters",
    )


@pytest.mark.django_db
def test_search_knowledge_base_finds_passages_of_the_conversations_inbox_only_and_caches_them_per_inbox():
    from agents.knowledge.services import knowledge_ingest

    shop, other = (inbox_ensure(name=name, allowed_origins=[], greeting="Hi")[0] for name in ("Shop", "Other shop"))
    for inbox, title in ((shop, "Returns"), (other, "Returns elsewhere")):
        body = "# Returns\n\nYou can return any item within 30 days of delivery for a full refund."
        knowledge_ingest(KnowledgeDocument.objects.create(title=title, body=body, inbox=inbox).pk)

    def search_from(inbox, step):
        conversation, _, _ = conversation_open(inbox, name="Carla")
        question = {"query": "How many days do I have to return an item?"}
        return tool_call("search_knowledge_base", question, idempotency_key=key(step), conversation_id=conversation.pk)

    found, found_elsewhere, found_again = search_from(shop, 1), search_from(other, 2), search_from(shop, 3)

    assert found.ok, found.error
    assert [passage["document"] for passage in found.content["passages"]] == ["Returns"]
    assert "30 days" in found.content["passages"][0]["text"]
    assert [passage["document"] for passage in found_elsewhere.content["passages"]] == ["Returns elsewhere"]
    assert (found.cached, found_elsewhere.cached, found_again.cached) == (False, False, True)
