"""What the local model does with a tool's answer: say it in plain words, from the fields the
answer has (never a shipping address or an email address), or take the request's next step."""

import json
from datetime import datetime

from agents.languages import language_of
from agents.llm import prompts
from agents.llm.local import answers, tool_calls
from agents.llm.local.phrases import money, say

STATUSES = {"processing", "shipped", "delivered", "cancelled", "refunded"}
NOT_FOUND_WORDS = ("no order", "not found", "unknown order", "does not exist")


def after_tool(messages: list[dict], tools: list[dict]) -> tuple[str | None, tuple | None]:
    """(what to tell the customer, (tool, arguments) to call next) after the last tool message."""
    call = _call_answered(messages)
    question = prompts.last_user_text(messages)
    language = language_of(question)
    try:
        result = json.loads(messages[-1].get("content") or "")
    except ValueError:
        return messages[-1].get("content") or "", None
    if isinstance(result, dict) and result.get("error"):
        number = (call.get("arguments") or {}).get("order_number") or tool_calls.order_number_in(question)
        return _failure(number, str(result["error"]), language), None
    name = call.get("name")
    if name == tool_calls.STATUS and isinstance(result, dict):
        request = tool_calls.request_of(
            question, prompts.user_texts(messages)[:-1], tool_calls.follows_a_question(messages)
        )
        return _after_lookup(result, request, tools, language)
    if name == tool_calls.REFUND and isinstance(result, dict):
        refund, order = result.get("refund") or {}, result.get("order") or {}
        amount = money(refund.get("amount", 0), order.get("currency", "EUR"), language)
        return say("refund_done", language, amount=amount, number=order.get("number", "")), None
    if name == tool_calls.CHANGE_ADDRESS and isinstance(result, dict):
        return say("address_done", language, number=(result.get("order") or {}).get("number", "")), None
    if name == tool_calls.ORDERS_BY_EMAIL and isinstance(result, dict):
        return " ".join(order_status(order, language) for order in result.get("orders", [])), None
    if isinstance(result, dict) and isinstance(result.get("passages"), list):
        sources = [(n, p.get("document", ""), p.get("text", "")) for n, p in enumerate(result["passages"], 1)]
        return answers.grounded_answer(question, sources)[0], None
    return say("found", language, number=(call.get("arguments") or {}).get("order_number", "")), None


def _call_answered(messages: list[dict]) -> dict:
    """The name and arguments of the call the last tool message answers."""
    wanted = messages[-1].get("tool_call_id")
    for message in reversed(messages):
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            if call.get("id") == wanted:
                try:
                    arguments = json.loads(function.get("arguments") or "{}")
                except ValueError:
                    arguments = {}
                return {"name": function.get("name"), "arguments": arguments}
    return {}


def _failure(number: str | None, error: str, language: str) -> str:
    if number and any(words in error.lower() for words in NOT_FOUND_WORDS):
        return say("unknown_order", language, number=number)
    return say("failed", language, error=error)


def _after_lookup(order: dict, request, tools: list[dict], language: str) -> tuple[str | None, tuple | None]:
    offered = {tool["function"]["name"] for tool in tools}
    number, status = order.get("number", request.order_number), order.get("status")
    if request.tool == tool_calls.REFUND and request.amount is None and status != "cancelled":
        return _propose_refund(order, request, offered, language)
    if request.tool == tool_calls.CHANGE_ADDRESS and request.address:
        if status == "processing" and tool_calls.CHANGE_ADDRESS in offered:
            return None, (tool_calls.CHANGE_ADDRESS, {"order_number": number, "address": request.address})
        return f"{order_status(order, language)} {say('not_changeable', language, number=number)}", None
    return order_status(order, language), None


def _propose_refund(order: dict, request, offered: set, language: str) -> tuple[str | None, tuple | None]:
    """A refund without an amount: what is left to refund on the order, said and proposed."""
    number, refundable = order.get("number", request.order_number), order.get("refundable_amount")
    if refundable is None or tool_calls.REFUND not in offered:
        return tool_calls.ask(["amount"], language), None
    if float(refundable) <= 0:
        return f"{order_status(order, language)} {say('nothing_to_refund', language, number=number)}", None
    amount = money(refundable, order.get("currency", "EUR"), language)
    arguments = {"order_number": number, "amount": float(refundable), "reason": request.reason}
    return say("propose_refund", language, number=number, amount=amount), (tool_calls.REFUND, arguments)


def order_status(order: dict, language: str) -> str:
    """The order's state in a sentence or two, from whichever fields the lookup returned."""
    number, status = order.get("number", ""), order.get("status", "")
    said = [say(status if status in STATUSES else "status", language, number=number, status=status)]
    placed = _date(order.get("placed_at"), language)
    if placed:
        said.append(say("placed", language, date=placed))
    if order.get("carrier"):
        said.append(say("carrier", language, carrier=order["carrier"]))
    refunded = order.get("refunded_amount")
    if refunded and float(refunded) > 0 and status != "refunded":
        said.append(say("partly_refunded", language, amount=money(refunded, order.get("currency", "EUR"), language)))
    return " ".join(said)


def _date(value, language: str) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return ""
    return moment.strftime("%d %B %Y") if language == "en" else moment.strftime("%d.%m.%Y")
