"""The tool registry: tools declared in code, mirrored into `Tool` rows, called with validated
arguments, a timeout, retries, a cache for safe tools and an idempotency key per call."""

from agents.tools import demo  # noqa: F401  (declares the demo tools)
from agents.tools.registry import GATED, SAFE, DeclaredTool, ToolContext, ToolError, TransientToolError, declare
from agents.tools.services import (
    ToolResult,
    idempotency_key_for,
    tool_call,
    tool_is_gated,
    tools_for_llm,
    tools_sync,
)

__all__ = [
    "GATED",
    "SAFE",
    "DeclaredTool",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "TransientToolError",
    "declare",
    "idempotency_key_for",
    "tool_call",
    "tool_is_gated",
    "tools_for_llm",
    "tools_sync",
]
