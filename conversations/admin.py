from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.utils.html import format_html
from guardian.admin import GuardedModelAdmin

from conversations.models import AuditEvent, Conversation, Customer, Inbox, Message
from hilconsole.admin import ReadOnlyAdmin


@admin.register(Inbox)
class InboxAdmin(GuardedModelAdmin):
    """ "Object permissions" on an inbox's page grants agents (or groups) the desk's `work_inbox`."""

    list_display = [
        "name",
        "ai_agent",
        "widget_token",
        "auto_assignment",
        "sla_claim_seconds",
        "csat_enabled",
        "created_at",
    ]
    search_fields = ["name"]
    readonly_fields = ["embed_tag", "created_at"]
    fields = [
        "name",
        "greeting",
        "ai_agent",
        "allowed_origins",
        "embed_tag",
        "widget_token",
        "identity_verification_required",
        "identity_secret",
        "business_hours",
        "csat_enabled",
        "auto_assignment",
        "sla_claim_seconds",
        "offline_grace_seconds",
        "created_at",
    ]

    @admin.display(description="Embed on your site")
    def embed_tag(self, inbox):
        if not inbox.pk:
            return "Save the inbox to get its tag."
        src = settings.PUBLIC_URL.rstrip("/") + static("widget/widget.js")
        tag = '<code>&lt;script src="{}" data-inbox-token="{}" async&gt;&lt;/script&gt;</code>'
        return format_html(tag, src, inbox.widget_token)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "inbox", "identifier", "email", "created_at"]
    list_filter = ["inbox"]
    search_fields = ["name", "email", "identifier"]
    readonly_fields = ["inbox", "identifier", "created_at"]


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["created_at", "sender", "author", "content"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "inbox", "customer", "status", "assignee", "priority", "escalated_at", "first_response_seconds",
        "resolution_seconds", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "inbox", "priority"]
    search_fields = ["customer__name", "customer__email", "handover_summary"]
    list_select_related = ["inbox", "customer", "assignee"]
    inlines = [MessageInline]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "target_type", "target_id"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_label", "target_id"]
    date_hierarchy = "created_at"
