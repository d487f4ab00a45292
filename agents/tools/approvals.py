"""Which tool calls wait for a reviewer: every call of a gated tool, and a safe tool's call when
the AI agent's approval rule for it holds over the call's arguments (JMESPath, like pipeline
edges: `amount > \\`50\\``)."""

import jmespath
from jmespath.exceptions import JMESPathError

from agents.models import ToolApprovalRule
from agents.pipelines.graph import truthy
from agents.tools.registry import DECLARED, GATED


def condition_problem(condition: str) -> str:
    """Why the condition cannot be used ("" when it can)."""
    if not condition.strip():
        return "Write a condition, such as amount > `50`."
    try:
        jmespath.compile(condition)
    except JMESPathError as error:
        return f"This is not a valid JMESPath expression: {error}"
    return ""


def approval_needed(agent_id: int | None, tool: str, arguments: dict) -> str:
    """Why this call must wait for a reviewer ("" when it may run at once)."""
    declared = DECLARED.get(tool)
    if declared is None or declared.risk == GATED:
        return f"{tool} changes something for the customer: a reviewer approves each call."
    rule = ToolApprovalRule.objects.filter(agent_id=agent_id, tool__name=tool).only("condition").first()
    if rule is None:
        return ""
    try:
        holds = truthy(jmespath.search(rule.condition, arguments))
    except JMESPathError:
        holds = True  # a rule that cannot be read must not let the call through
    return f"The rule for {tool} holds: {rule.condition}" if holds else ""
