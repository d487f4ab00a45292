from django.contrib import admin
from django.db import models

from conversations.admin_audit import AuditedAdmin, ReadOnlyAdmin
from reviews.models import CannedResponse, HumanAgent, RejectionReason, ReviewTask


@admin.register(HumanAgent)
class HumanAgentAdmin(AuditedAdmin):
    list_display = ["__str__", "user", "skills", "max_concurrent", "status", "last_seen_at"]
    list_filter = ["status"]
    search_fields = ["user__username", "user__first_name", "display_name"]
    list_select_related = ["user"]
    fields = [
        "user",
        "display_name",
        "skills",
        "max_concurrent",
        "status",
        "status_chosen",
        "last_seen_at",
        "offline_since",
    ]
    # Presence belongs to the agent's desk, not to an admin's form.
    readonly_fields = ["status", "status_chosen", "last_seen_at", "offline_since"]
    autocomplete_fields = ["user"]


@admin.register(CannedResponse)
class CannedResponseAdmin(AuditedAdmin):
    list_display = ["shortcut", "title", "inbox", "updated_at"]
    list_filter = ["inbox"]
    search_fields = ["shortcut", "title", "content"]


@admin.register(ReviewTask)
class ReviewTaskAdmin(ReadOnlyAdmin):
    """Decisions are made on the reviewers' desk (/desk/reviews/) or through the approvals API."""

    list_display = ["pk", "kind", "tool", "status", "risk", "inbox", "decided_by_label", "deadline", "created_at"]
    list_filter = ["status", "kind", "risk", "tool", "inbox"]
    search_fields = ["pk", "conversation__id", "idempotency_key", "decided_by_label"]
    date_hierarchy = "created_at"
    list_select_related = ["tool", "inbox"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(RejectionReason)
class RejectionReasonAdmin(AuditedAdmin):
    """Reasons reviewers pick when they reject an action (the customer is told the reason)."""

    list_display = ["text", "tool", "position"]
    list_editable = ["position"]
    list_filter = ["tool"]
