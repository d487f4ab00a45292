"""Tools are declared in code with `@declare(...)`; `tools_sync()` mirrors them into `Tool` rows.

A tool is a function `(arguments, context) -> JSON-able content`, where `arguments` is an
instance of its pydantic model (already validated) and `context` a `ToolContext`. It reports a
failure the AI should read by raising `ToolError`, and a failure worth another attempt by
raising `TransientToolError` (httpx timeouts and connection errors count as transient too).
"""

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from agents.models import Tool

SAFE = Tool.Risk.SAFE
GATED = Tool.Risk.GATED


@dataclass(frozen=True)
class ToolCustomer:
    """Who the AI acts for: the conversation's customer, never whoever the text names.

    `identifier` is the shop's own id of the customer, set only when the shop vouched for it
    (the widget's HMAC-signed identity); `email` is only what the customer or the site said.
    """

    id: int | None = None
    identifier: str | None = None
    email: str = ""

    @property
    def verified(self) -> bool:
        return bool(self.identifier)


ANONYMOUS = ToolCustomer()


@dataclass(frozen=True)
class ToolContext:
    """What a tool function knows about the call besides its arguments."""

    # Each attempt must give up after this long (pass it to the HTTP client).
    timeout_seconds: float
    # The same for every attempt and every replay of the run step: send it to any backend that
    # changes something, so that a retried request is recognised there too.
    idempotency_key: str
    conversation_id: int | None = None
    inbox_id: int | None = None
    customer: ToolCustomer = ANONYMOUS


@dataclass(frozen=True)
class DeclaredTool:
    name: str
    description: str
    arguments: type[BaseModel]
    function: Callable[[BaseModel, ToolContext], Any]
    risk: str = SAFE
    timeout_seconds: float = 5.0
    retries: int = 0
    cache_ttl_seconds: int = 0
    # For reviewers: the call in plain words ("Refund €20.00 on order 100234"), and what the
    # backend knows that helps them decide (the order as the shop sees it).
    describe: Callable[[dict], str] | None = None
    review_context: Callable[[dict], dict] | None = None

    def argument_schema(self) -> dict:
        # Every turn offers the agent's tools, and pydantic took about a millisecond a turn to
        # build their schemas: each is built once per process (it is the code's), and each
        # caller gets a copy of its own to change.
        return json.loads(_schema_text(self.arguments))


@functools.cache
def _schema_text(arguments: type[BaseModel]) -> str:
    schema = arguments.model_json_schema()
    # The model's class name says nothing to an LLM; the tool's name and description do.
    schema.pop("title", None)
    return json.dumps(schema)


class ToolError(Exception):
    """A failure the AI should be told about (an unknown order, a refused refund)."""


class TransientToolError(ToolError):
    """A failure that another attempt may not have (a 5xx from the backend)."""


# name → DeclaredTool, filled as tool modules are imported (agents.tools imports them all).
DECLARED: dict[str, DeclaredTool] = {}


def declare(
    *,
    name: str,
    description: str,
    arguments: type[BaseModel],
    risk: str = SAFE,
    timeout_seconds: float = 5.0,
    retries: int = 0,
    cache_ttl_seconds: int = 0,
    describe: Callable[[dict], str] | None = None,
    review_context: Callable[[dict], dict] | None = None,
):
    """Register the decorated function as a tool.

    A gated tool changes something, and a reviewer approves each call; only a safe tool's
    answers may be cached. Timeouts are retried, so a tool that changes something must send
    `context.idempotency_key` to its backend (which must honour it), or declare no retries.
    """
    if risk not in Tool.Risk.values:
        raise ValueError(f"Tool {name}: risk must be one of {Tool.Risk.values}, not {risk!r}.")
    if risk == GATED and cache_ttl_seconds:
        raise ValueError(f"Tool {name} is gated: its answers must not be cached.")

    def register(function):
        if name in DECLARED:
            raise ValueError(f"A tool named {name} is already declared.")
        DECLARED[name] = DeclaredTool(
            name=name,
            description=description,
            arguments=arguments,
            function=function,
            risk=risk,
            timeout_seconds=timeout_seconds,
            retries=retries,
            cache_ttl_seconds=cache_ttl_seconds,
            describe=describe,
            review_context=review_context,
        )
        return function

    return register


def describe_call(name: str, arguments: dict) -> str:
    """A tool call in plain words, for the people who decide on it."""
    declared = DECLARED.get(name)
    if declared and declared.describe:
        try:
            return declared.describe(arguments)
        except (KeyError, TypeError, ValueError):
            pass  # arguments a reviewer is still editing: fall back to the plain form
    shown = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
    return f"{name.replace('_', ' ').capitalize()} ({shown})"
