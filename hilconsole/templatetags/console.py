from django import template

from agents.llm import budgets

register = template.Library()


@register.inclusion_tag("admin/_paused_agents.html", takes_context=True)
def paused_agents_banner(context):
    """On every admin page: AI agents that stopped answering, each with its Resume button."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_staff:
        return {"paused": []}
    return {"paused": list(budgets.paused_agents()), "may_resume": user.has_perm("agents.change_aiagent"),
            "csrf_token": context.get("csrf_token")}  # fmt: skip
