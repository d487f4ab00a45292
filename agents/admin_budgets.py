from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from agents.llm import budgets
from agents.models import Budget
from conversations.admin_audit import AuditedAdmin


@admin.register(Budget)
class BudgetAdmin(AuditedAdmin):
    """Caps the gateway enforces before every model call (agents.llm.budgets)."""

    list_display = ["name", "scope", "ai_agent", "inbox", "hourly_usd", "daily_usd", "monthly_usd",
                    "conversation_tokens", "on_exceeded", "enabled", "use_now"]  # fmt: skip
    list_filter = ["scope", "enabled", "on_exceeded"]
    search_fields = ["name"]
    list_select_related = ["ai_agent", "inbox"]
    fields = ["name", "scope", "ai_agent", "inbox", "hourly_usd", "daily_usd", "monthly_usd", "conversation_tokens",
              "alert_ratio", "on_exceeded", "cheaper_profile", "enabled", "use_now"]  # fmt: skip
    readonly_fields = ["use_now"]

    @admin.display(description="used this period")
    def use_now(self, budget):
        if budget.pk is None:
            return "—"
        rows = budgets.usage_now(budget)
        if not rows:
            return "—"
        return format_html_join(
            mark_safe("<br>"), "{}: {} of {} USD ({})",
            ((row["period"], f"{row['spent']:.4f}", row["cap"], f"{row['ratio']:.0%}") for row in rows),
        )  # fmt: skip

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        budgets.forget()
