import jsonschema
from django import forms
from django.contrib import admin

from agents.models import DemoOrder, Tool, ToolCall
from conversations.admin_audit import AuditedGuardedAdmin, ReadOnlyAdmin


class ToolForm(forms.ModelForm):
    class Meta:
        model = Tool
        fields = ["name", "description", "argument_schema", "enabled", "review_risk", "decision_deadline_seconds",
                  "escalate_after_seconds", "on_expiry"]  # fmt: skip

    def clean_argument_schema(self):
        schema = self.cleaned_data["argument_schema"]
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as error:
            raise forms.ValidationError(f"Not a valid JSON schema: {error.message}")
        if schema.get("type", "object") != "object":
            raise forms.ValidationError('The arguments are an object: use {"type": "object", "properties": {...}}.')
        return schema


@admin.register(Tool)
class ToolAdmin(AuditedGuardedAdmin):
    """Tools declared in code are mirrored here: the admin holds their kill switch (`enabled`) and
    how reviewers decide on their calls. "Object permissions" grants `approve_tool` (who may
    approve calls) to people or groups. An outside agent's tool is added here, with its schema,
    before it asks for approvals through the API."""

    form = ToolForm
    list_display = ["name", "risk", "enabled", "review_risk", "decision_deadline_seconds", "declared", "external"]
    list_editable = ["enabled"]
    list_filter = ["risk", "enabled", "declared", "external"]
    search_fields = ["name", "description"]
    fields = [
        "name",
        "description",
        "risk",
        "enabled",
        "declared",
        "external",
        "review_risk",
        "decision_deadline_seconds",
        "escalate_after_seconds",
        "on_expiry",
        "timeout_seconds",
        "retries",
        "cache_ttl_seconds",
        "argument_schema",
        "updated_at",
    ]
    REVIEW_FIELDS = ["enabled", "review_risk", "decision_deadline_seconds", "escalate_after_seconds", "on_expiry"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None or obj.external:
            return ["risk", "declared", "external", "timeout_seconds", "retries", "cache_ttl_seconds", "updated_at"]
        return [field for field in self.fields if field not in self.REVIEW_FIELDS]

    def save_model(self, request, obj, form, change):
        if not change:
            # Added here, it can only be an outside agent's tool: the console never calls it.
            obj.external, obj.declared, obj.risk = True, False, Tool.Risk.GATED
            obj.timeout_seconds, obj.retries, obj.cache_ttl_seconds = 0, 0, 0
        super().save_model(request, obj, form, change)

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
