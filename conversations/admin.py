import csv
import itertools
import json

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from conversations import services
from conversations.admin_audit import AuditedAdmin, AuditedGuardedAdmin, ReadOnlyAdmin
from conversations.models import AuditEvent, Conversation, Customer, Inbox, Message


@admin.register(Inbox)
class InboxAdmin(AuditedGuardedAdmin):
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
    readonly_fields = ["embed_tag", "widget_token_shown", "created_at"]
    fields = [
        "name",
        "greeting",
        "ai_agent",
        "allowed_origins",
        "embed_tag",
        "widget_token_shown",
        "identity_verification_required",
        "identity_secret",
        "business_hours",
        "csat_enabled",
        "auto_assignment",
        "sla_claim_seconds",
        "offline_grace_seconds",
        "time_zone",
        "retention_days",
        "created_at",
    ]

    @admin.display(description="widget token")
    def widget_token_shown(self, inbox):
        if not inbox.pk:
            return "Made when the inbox is saved."
        url = reverse("admin:conversations_inbox_rotate_token", args=[inbox.pk])
        return format_html(
            # Submits the page's own form (it carries the CSRF token) to the rotation view.
            '<code>{}</code> <button type="submit" formaction="{}" formmethod="post" class="button">'
            "Rotate widget token</button>",
            inbox.widget_token, url,
        )  # fmt: skip

    def get_urls(self):
        rotate = self.admin_site.admin_view(require_POST(self.rotate_token_view))
        return [path("<int:inbox_id>/rotate-token/", rotate, name="conversations_inbox_rotate_token"),
                *super().get_urls()]  # fmt: skip

    def rotate_token_view(self, request, inbox_id: int):
        if not request.user.has_perm("conversations.change_inbox"):
            raise PermissionDenied("Rotating the token changes the inbox, which you may not change.")
        inbox = services.inbox_rotate_widget_token(get_object_or_404(Inbox, pk=inbox_id).pk, actor=request.user)
        messages.success(request, f"New widget token for {inbox}: update the tag on every site that embeds it.")
        return redirect("admin:conversations_inbox_change", inbox.pk)

    @admin.display(description="Embed on your site")
    def embed_tag(self, inbox):
        if not inbox.pk:
            return "Save the inbox to get its tag."
        src = settings.PUBLIC_URL.rstrip("/") + static("widget/widget.js")
        tag = '<code>&lt;script src="{}" data-inbox-token="{}" async&gt;&lt;/script&gt;</code>'
        return format_html(tag, src, inbox.widget_token)


@admin.register(Customer)
class CustomerAdmin(AuditedAdmin):
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


class Echo:
    """A file that hands back what is written to it: csv.writer then yields rows to stream."""

    def write(self, value):
        return value


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit log: read-only, filterable, searchable, and exported as CSV with the filters and
    search shown (streamed row by row, so a large log never sits in memory)."""

    list_display = ["created_at", "actor_label", "action", "target_type", "target_id", "before", "after"]
    list_filter = ["action", "target_type", ("actor", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["actor_label", "action", "target_type", "target_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    EXPORT_COLUMNS = ["created_at", "actor_label", "action", "target_type", "target_id", "before", "after"]

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and super().has_view_permission(request, obj)

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_view)
        return [path("export.csv", export, name="conversations_auditevent_export"), *super().get_urls()]

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied("The audit log is for admins who may view it.")
        events = self.get_changelist_instance(request).get_queryset(request)
        writer = csv.writer(Echo())
        rows = events.values_list(*self.EXPORT_COLUMNS).iterator(chunk_size=2000)
        lines = itertools.chain(
            [writer.writerow(self.EXPORT_COLUMNS)],
            (writer.writerow([*row[:5], json.dumps(row[5]), json.dumps(row[6])]) for row in rows),
        )
        response = StreamingHttpResponse(lines, content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
        return response
