"""Calling tools, and mirroring their declarations into `Tool` rows.

`tool_call()` never raises for a tool's failure: a switched-off tool, bad arguments, a timeout
or a refusal by the backend all come back as a `ToolResult` whose error the AI can read.
"""

import functools
import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import pydantic
import redis
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from psycopg import sql

from agents.models import Tool, ToolCall
from agents.tools.registry import (
    ANONYMOUS,
    DECLARED,
    GATED,
    SAFE,
    DeclaredTool,
    ToolContext,
    ToolCustomer,
    ToolError,
    TransientToolError,
)
from conversations.models import Conversation
from hilconsole.prepared import prepared_cursor

logger = logging.getLogger(__name__)

SYNCED_FIELDS = ("description", "risk", "argument_schema", "timeout_seconds", "retries", "cache_ttl_seconds")


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    content: Any = None
    error: str = ""
    # Why it failed: unknown_tool, switched_off, needs_approval, invalid_arguments,
    # unknown_conversation, idempotency_conflict, timeout, unreachable, tool_error or failed.
    code: str = ""
    cached: bool = False
    # The answer stored under this idempotency key by an earlier call: nothing ran again.
    replayed: bool = False
    attempts: int = 0

    def message_for_llm(self) -> str:
        """The tool message the model reads next."""
        body = self.content if self.ok else {"error": self.error}
        return json.dumps(body, ensure_ascii=False, cls=DjangoJSONEncoder)


def idempotency_key_for(run_id: int, step_id: int | str, name: str, call_index: int = 0) -> str:
    """The key of a tool call made by a run step: a replay of the step gets the same key, so its
    side effect is not repeated. `call_index` tells apart several calls one step makes."""
    return f"run:{run_id}:step:{step_id}:{name}:{call_index}"


def tool_is_gated(name: str) -> bool:
    """Whether each call needs a reviewer's approval first (unknown tools count as gated)."""
    declared = DECLARED.get(name)
    return declared is None or declared.risk == GATED


# Declarations -----------------------------------------------------------------------------


def tools_sync() -> dict[str, list[str]]:
    """Mirror the declared tools into `Tool` rows: create new ones, update what the code
    changed, mark rows whose tool is gone as undeclared. `enabled` is the admin's switch and is
    never touched. Returns the names created, updated and newly undeclared."""
    created, updated = [], []
    with transaction.atomic():
        rows = {row.name: row for row in Tool.objects.select_for_update()}
        for declared in DECLARED.values():
            fields = {field: _declared_value(declared, field) for field in SYNCED_FIELDS} | {"declared": True}
            row = rows.get(declared.name)
            if row is None:
                Tool.objects.create(name=declared.name, **fields)
                created.append(declared.name)
            elif any(getattr(row, field) != value for field, value in fields.items()):
                Tool.objects.filter(pk=row.pk).update(**fields)
                updated.append(declared.name)
        undeclared = sorted(name for name, row in rows.items() if name not in DECLARED and row.declared)
        Tool.objects.filter(name__in=undeclared).update(declared=False)
    return {"created": created, "updated": updated, "undeclared": undeclared}


def _declared_value(declared: DeclaredTool, field: str):
    return declared.argument_schema() if field == "argument_schema" else getattr(declared, field)


def tools_for_llm(names: Iterable[str] | None = None) -> list[dict]:
    """OpenAI-style tool specs of these tools (all when None), leaving out switched-off ones."""
    wanted = [name for name in dict.fromkeys(DECLARED if names is None else names) if name in DECLARED]
    if not wanted:
        return []
    # A prepared statement: every answer of a chat turn asks.
    with prepared_cursor() as cursor:
        cursor.execute(_enabled_tools(), [wanted])
        enabled = {name for (name,) in cursor.fetchall()}
    return [_spec(DECLARED[name]) for name in wanted if name in enabled]


@functools.cache
def _enabled_tools() -> str:
    """The names among %s (a list) of the declared tools that are switched on."""
    field = Tool._meta.get_field
    return (
        sql.SQL("SELECT {name} FROM {tools} WHERE {declared} AND {enabled} AND {name} = ANY(%s)")
        .format(
            name=sql.Identifier(field("name").column),
            tools=sql.Identifier(Tool._meta.db_table),
            declared=sql.Identifier(field("declared").column),
            enabled=sql.Identifier(field("enabled").column),
        )
        .as_string()
    )


def _spec(declared: DeclaredTool) -> dict:
    return {
        "type": "function",
        "function": {
            "name": declared.name,
            "description": declared.description,
            "parameters": declared.argument_schema(),
        },
    }


# Calling ----------------------------------------------------------------------------------


def tool_call(
    name: str,
    arguments: dict,
    *,
    idempotency_key: str,
    conversation_id: int | None = None,
    approved: bool = False,
    customer: ToolCustomer | None = None,
) -> ToolResult:
    """Call a tool once per idempotency key. A gated tool runs only with `approved=True`, which
    the caller passes once a reviewer approved this very call. The tool acts for the
    conversation's customer, or for `customer` when a workflow names whom it acts for (an
    applicant, by the id an authenticated caller gave)."""
    try:
        declared, tool_pk = _callable_tool(name, approved)
        parsed = _parsed_arguments(declared, arguments)
        recorded = parsed.model_dump(mode="json")
        stored = ToolCall.objects.select_related("tool").filter(idempotency_key=idempotency_key).first()
        if stored is not None:
            return _replay(stored, name, recorded)
        inbox_id, acting_for = _conversation_of(conversation_id)
        context = ToolContext(declared.timeout_seconds, idempotency_key, conversation_id, inbox_id,
                              customer or acting_for)  # fmt: skip
    except _Refused as refusal:
        # Nothing ran, so nothing is recorded: the same key may call again once the cause is fixed.
        return refusal.result
    started = time.monotonic()
    result = _from_cache(declared, parsed, context)
    if result is None:
        result = _run(declared, parsed, context)
        _cache_store(declared, parsed, context, result)
    return _record(declared.name, tool_pk, context, recorded, result, (time.monotonic() - started) * 1000)


class _Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.result = ToolResult(ok=False, error=message, code=code)


def _callable_tool(name: str, approved: bool) -> tuple[DeclaredTool, int]:
    declared = DECLARED.get(name)
    # Read at every call, so that an admin switching a tool off stops the very next call.
    row = Tool.objects.filter(name=name, declared=True).values("pk", "enabled").first()
    if declared is None or row is None:
        raise _Refused("unknown_tool", f"There is no tool named {name!r}.")
    if not row["enabled"]:
        raise _Refused("switched_off", f"The tool {name} is switched off by an administrator: do not use it.")
    if declared.risk == GATED and not approved:
        raise _Refused("needs_approval", f"The tool {name} runs only once a reviewer approved the call.")
    return declared, row["pk"]


def _parsed_arguments(declared: DeclaredTool, arguments: dict) -> pydantic.BaseModel:
    try:
        return declared.arguments.model_validate(arguments)
    except pydantic.ValidationError as error:
        raise _Refused("invalid_arguments", f"Invalid arguments for {declared.name}: {_describe(error)}")


def _conversation_of(conversation_id: int | None) -> tuple[int | None, ToolCustomer]:
    """The conversation's inbox and customer: whom the tools act for."""
    if conversation_id is None:
        return None, ANONYMOUS
    found = conversation_customer(conversation_id)
    if found is None:
        raise _Refused("unknown_conversation", f"There is no conversation {conversation_id}.")
    return found


def conversation_customer(conversation_id: int) -> tuple[int, ToolCustomer] | None:
    """(inbox id, customer) of the conversation, or None when there is no such conversation."""
    row = (
        Conversation.objects.filter(pk=conversation_id)
        .values_list("inbox_id", "customer_id", "customer__identifier", "customer__email")
        .first()
    )
    if row is None:
        return None
    inbox_id, customer_id, identifier, email = row
    return inbox_id, ToolCustomer(customer_id, identifier or None, email)


def _describe(error: pydantic.ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'arguments'}: {problem['msg']}"
        for problem in error.errors()
    )


def _replay(stored: ToolCall, name: str, arguments: dict) -> ToolResult:
    if stored.tool.name != name or stored.arguments != arguments:
        raise _Refused(
            "idempotency_conflict",
            f"The idempotency key {stored.idempotency_key} was already used for another call "
            f"({stored.tool.name} with {json.dumps(stored.arguments)}).",
        )
    if stored.error:
        code = (stored.result or {}).get("error_code", "failed")
        return ToolResult(ok=False, error=stored.error, code=code, replayed=True, attempts=stored.attempts)
    return ToolResult(ok=True, content=stored.result, replayed=True, attempts=stored.attempts)


def _run(declared: DeclaredTool, arguments: pydantic.BaseModel, context: ToolContext) -> ToolResult:
    attempts = 0
    while True:
        attempts += 1
        try:
            content = declared.function(arguments, context)
            # Normalised now, so what is stored, cached and returned is the same plain JSON.
            content = json.loads(json.dumps(content, cls=DjangoJSONEncoder))
            return ToolResult(ok=True, content=content, attempts=attempts)
        except Exception as error:
            transient = _transient_code(error)
            if transient and attempts <= declared.retries:
                time.sleep(_backoff_seconds(attempts))
                continue
            return _failure(declared, error, transient, attempts)


def _transient_code(error: Exception) -> str:
    """Timeouts, connection errors and 5xx answers may pass on another attempt."""
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.TransportError | TransientToolError):
        return "unreachable"
    if isinstance(error, httpx.HTTPStatusError) and error.response.status_code >= 500:
        return "unreachable"
    return ""


def _backoff_seconds(attempts: int) -> float:
    return min(0.2 * 2 ** (attempts - 1), 2.0)


def _failure(declared: DeclaredTool, error: Exception, transient: str, attempts: int) -> ToolResult:
    tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
    if transient == "timeout":
        message = f"{declared.name} timed out: no answer within {declared.timeout_seconds:g} s ({tries})."
    elif transient:
        message = f"{declared.name} could not get an answer: {error} ({tries})."
    elif isinstance(error, ToolError):
        message = str(error)
    else:
        logger.exception("Tool %s failed", declared.name, exc_info=error)
        message = f"{declared.name} failed unexpectedly ({type(error).__name__})."
    code = transient or ("tool_error" if isinstance(error, ToolError) else "failed")
    return ToolResult(ok=False, error=message, code=code, attempts=attempts)


def _cache_key(declared: DeclaredTool, arguments: pydantic.BaseModel, context: ToolContext) -> str:
    # Per inbox (its knowledge base) and per verified customer (their orders): one customer's
    # answer must never be served to another, or to an anonymous visitor.
    scope = f"{context.inbox_id}:{context.customer.identifier or ''}"
    digest = hashlib.sha256(f"{scope}:{arguments.model_dump_json()}".encode()).hexdigest()
    return f"tool-result:{declared.name}:{digest}"


def _from_cache(declared: DeclaredTool, arguments: pydantic.BaseModel, context: ToolContext) -> ToolResult | None:
    if declared.risk != SAFE or not declared.cache_ttl_seconds:
        return None
    try:
        content = cache.get(_cache_key(declared, arguments, context))
    except redis.RedisError:
        logger.warning("Tool cache unavailable; calling %s", declared.name, exc_info=True)
        return None
    return None if content is None else ToolResult(ok=True, content=content, cached=True)


def _cache_store(declared: DeclaredTool, arguments: pydantic.BaseModel, context: ToolContext, result) -> None:
    if not result.ok or result.cached or declared.risk != SAFE or not declared.cache_ttl_seconds:
        return
    try:
        cache.set(_cache_key(declared, arguments, context), result.content, declared.cache_ttl_seconds)
    except redis.RedisError:
        logger.warning("Tool cache unavailable; %s's answer is not cached", declared.name, exc_info=True)


def _record(
    name: str, tool_pk: int, context: ToolContext, arguments: dict, result: ToolResult, latency_ms: float
) -> ToolResult:
    try:
        with transaction.atomic():
            ToolCall.objects.create(
                tool_id=tool_pk,
                idempotency_key=context.idempotency_key,
                arguments=arguments,
                result=result.content if result.ok else {"error_code": result.code},
                error=result.error,
                attempts=result.attempts,
                latency_ms=latency_ms,
                conversation_id=context.conversation_id,
            )
    except IntegrityError:
        # A concurrent call with the same key (a step redelivered while still running) recorded
        # first. Its answer stands, so every caller of this key sees the same result; the
        # backend got the same idempotency key from both and made the change once.
        stored = ToolCall.objects.select_related("tool").filter(idempotency_key=context.idempotency_key).first()
        if stored is None:
            raise
        try:
            return _replay(stored, name, arguments)
        except _Refused as refusal:
            return refusal.result
    return result
