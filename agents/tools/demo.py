"""The demo tools: they call the demo shop backend (agents/demo_shop) over HTTP, and the
knowledge base. Gated tools are retried safely because every attempt sends the call's
idempotency key, and the shop makes a change once per key.

They act for the conversation's customer, never for whoever the text names: an order's details,
a list of orders and every change are asked for as the verified customer (the shop's id of them,
from the widget's signed identity), so the shop answers with their orders only. A visitor who is
not signed in gets what the shop's public tracking page shows (status and carrier) and nothing
else; a number typed in the chat is not proof of anything.
"""

import os
from typing import Annotated

import httpx
from django.conf import settings
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from agents.tools.registry import GATED, ToolContext, ToolError, TransientToolError, declare


def _order_number(value):
    # Customers write "#100234" or "100 234"; the shop knows "100234".
    return value.replace(" ", "").lstrip("#") if isinstance(value, str) else value


OrderNumber = Annotated[
    str,
    Field(pattern=r"^\d{4,12}$", description="The order number, digits only, e.g. 100234."),
    BeforeValidator(_order_number),
]
Amount = Annotated[
    float,
    Field(gt=0, le=100_000),
    # A plain number for the model; the shop gets it with two decimals.
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "description": "The amount to refund, e.g. 19.90."}),
]


class ToolArguments(BaseModel):
    # An invented argument is an error the model can read and fix, not something silently dropped.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)


class OrderLookup(ToolArguments):
    order_number: OrderNumber


class CustomerOrders(ToolArguments):
    # Accepted so that a model that passes one is not refused, and ignored: the orders listed
    # are always the signed-in customer's own.
    email: str | None = Field(
        default=None,
        max_length=254,
        pattern=r"^[^@\s]{1,64}@[^@\s]{1,252}$",
        description="Not needed: the orders are always the signed-in customer's own.",
    )
    limit: int = Field(default=5, ge=1, le=10, description="How many orders, most recent first.")


class RefundRequest(ToolArguments):
    order_number: OrderNumber
    amount: Amount
    reason: str = Field(min_length=3, max_length=500, description="Why the customer gets the refund.")


class ShippingAddressChange(ToolArguments):
    order_number: OrderNumber
    address: str = Field(min_length=10, max_length=500, description="The complete new shipping address.")


class KnowledgeQuery(ToolArguments):
    query: str = Field(min_length=2, max_length=500, description="What to look up, in the customer's words.")
    limit: int = Field(default=5, ge=1, le=10, description="How many passages.")


SIGN_IN = "the customer is not signed in: ask them to sign in on the shop's website first"


def verified_customer(context: ToolContext) -> str:
    """The shop's id of the customer the conversation is with, when the shop vouched for them."""
    if not context.customer.verified:
        raise ToolError(f"Only a signed-in customer's own orders can be looked at or changed: {SIGN_IN}.")
    return context.customer.identifier


_clients: dict[int, httpx.Client] = {}


def shop_client() -> httpx.Client:
    """One pooled client per process (a worker's children each make their own after the fork):
    a client per call builds a TLS context and opens a connection every time, tens of
    milliseconds of a reviewer's wait."""
    client = _clients.get(os.getpid())
    if client is None:
        client = _clients[os.getpid()] = httpx.Client()
    return client


def shop_request(context: ToolContext, method: str, path: str, *, params=None, body=None) -> dict:
    """One request to the demo shop API; its refusals become a `ToolError` with its message."""
    headers = {"X-Demo-Shop-Key": settings.DEMO_SHOP_API_KEY}
    if method != "GET":
        headers["Idempotency-Key"] = context.idempotency_key
    url = f"{settings.DEMO_SHOP_URL.rstrip('/')}/demo-shop/api/{path}"
    response = shop_client().request(
        method, url, params=params, json=body, headers=headers, timeout=context.timeout_seconds
    )
    if response.status_code >= 500:
        raise TransientToolError(f"the shop answered {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise ToolError(f"The shop answered {response.status_code} with something that is not JSON.")
    if response.is_error:
        raise ToolError(answer.get("error", {}).get("message") or f"The shop answered {response.status_code}.")
    return answer


ORDER_FIELDS = (
    "number", "status", "carrier", "total", "currency", "refunded_amount", "refundable_amount", "placed_at",
)  # fmt: skip


@declare(
    name="get_order_status",
    description="Look up one order by its number: status and carrier; for the signed-in customer's own orders "
    "also the total, refunds, shipping address and when it was placed.",
    arguments=OrderLookup,
    timeout_seconds=5,
    retries=2,
    # Short: the AI may look again right after a refund or an address change.
    cache_ttl_seconds=10,
)
def get_order_status(arguments: OrderLookup, context: ToolContext) -> dict:
    number = arguments.order_number
    if not context.customer.verified:
        tracking = shop_request(context, "GET", f"orders/{number}/tracking")
        return tracking | {"details": f"Only the customer who placed it sees more: {SIGN_IN}."}
    order = shop_request(context, "GET", f"orders/{number}", params={"customer": verified_customer(context)})
    return {field: order[field] for field in (*ORDER_FIELDS, "shipping_address")}


@declare(
    name="list_recent_orders",
    description="List the signed-in customer's most recent orders, newest first.",
    arguments=CustomerOrders,
    timeout_seconds=5,
    retries=2,
    cache_ttl_seconds=10,
)
def list_recent_orders(arguments: CustomerOrders, context: ToolContext) -> dict:
    params = {"customer": verified_customer(context), "limit": arguments.limit}
    answer = shop_request(context, "GET", "orders", params=params)
    return {"orders": [{field: order[field] for field in ORDER_FIELDS} for order in answer["orders"]]}


def order_for_reviewers(arguments: dict) -> dict:
    """The order as the shop sees it, for the reviewer deciding on a change to it."""
    number = _order_number(str(arguments.get("order_number", "")))
    context = ToolContext(timeout_seconds=3, idempotency_key="")
    try:
        return {"order": shop_request(context, "GET", f"orders/{number}")}
    except ToolError as refusal:
        return {"error": str(refusal)}
    except httpx.HTTPError as error:
        return {"error": f"The shop could not be reached ({type(error).__name__})."}


def _refund_in_words(arguments: dict) -> str:
    return f"Refund €{float(arguments['amount']):.2f} on order {arguments['order_number']}"


@declare(
    name="request_refund",
    description="Refund part or all of an order's total to the customer. A reviewer approves each refund.",
    arguments=RefundRequest,
    risk=GATED,
    timeout_seconds=10,
    retries=2,
    describe=_refund_in_words,
    review_context=order_for_reviewers,
)
def request_refund(arguments: RefundRequest, context: ToolContext) -> dict:
    body = {"amount": f"{arguments.amount:.2f}", "reason": arguments.reason}
    params = {"customer": verified_customer(context)}
    return shop_request(context, "POST", f"orders/{arguments.order_number}/refund", params=params, body=body)


@declare(
    name="update_shipping_address",
    description="Change where an order that has not shipped yet will be delivered. A reviewer approves each change.",
    arguments=ShippingAddressChange,
    risk=GATED,
    timeout_seconds=10,
    retries=2,
    describe=lambda arguments: f"Ship order {arguments['order_number']} to {arguments['address']}",
    review_context=order_for_reviewers,
)
def update_shipping_address(arguments: ShippingAddressChange, context: ToolContext) -> dict:
    body = {"address": arguments.address}
    params = {"customer": verified_customer(context)}
    path = f"orders/{arguments.order_number}/shipping-address"
    return shop_request(context, "POST", path, params=params, body=body)


@declare(
    name="search_knowledge_base",
    description="Search the help center (shipping, returns, refunds, payments, accounts, warranty) for passages.",
    arguments=KnowledgeQuery,
    timeout_seconds=5,
    cache_ttl_seconds=300,
)
def search_knowledge_base(arguments: KnowledgeQuery, context: ToolContext) -> dict:
    # Imported at call time: declaring the tools (at every migrate) need not load the knowledge
    # base and its embedding model.
    from agents.knowledge.search import search

    passages = search(arguments.query, inbox_id=context.inbox_id, limit=arguments.limit)
    return {
        "passages": [
            {
                "document": passage.document_title,
                "heading": passage.heading,
                "text": passage.text,
                "similarity": round(passage.similarity, 3),
            }
            for passage in passages
        ]
    }
