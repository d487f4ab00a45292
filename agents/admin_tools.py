from django.contrib import admin

from agents.models import DemoOrder, Tool, ToolCall
from hilconsole.admin import ReadOnlyAdmin


@admin.register(Tool)
class ToolAdmin(admin.ModelAdmin):
    """Tools are declared in code; the admin sees them and holds the kill switch (`enabled`)."""

    list_display = ["name", "risk", "enabled", "declared", "timeout_seconds", "retries", "cache_ttl_seconds"]
    list_editable = ["enabled"]
    list_filter = ["risk", "enabled", "declared"]
    search_fields = ["name", "description"]
    fields = [
        "name",
        "description",
        "risk",
        "enabled",
        "declared",
        "timeout_seconds",
        "retries",
        "cache_ttl_seconds",
        "argument_schema",
        "updated_at",
    ]
    readonly_fields = [field for field in fields if field != "enabled"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Recorded calls point at the row; a tool removed from code is marked undeclared instead.
        return False


@admin.register(ToolCall)
class ToolCallAdmin(ReadOnlyAdmin):
    """What tools were called with and answered: a record, not something to edit."""

    list_display = ["created_at", "tool", "idempotency_key", "attempts", "latency_ms", "error"]
    list_filter = ["tool"]
    search_fields = ["idempotency_key"]
    list_select_related = ["tool"]
    raw_id_fields = ["conversation"]


@admin.register(DemoOrder)
class DemoOrderAdmin(admin.ModelAdmin):
    list_display = ["number", "customer_email", "status", "total", "refunded_amount", "currency", "placed_at"]
    list_filter = ["status"]
    search_fields = ["number", "customer_email"]
