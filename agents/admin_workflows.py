"""The back office in the admin: the workflows an admin configures, and the document analyses
and applications they ran (read-only; an analysis page reloads itself while it runs)."""

import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from agents.admin_pipelines import pretty_json
from agents.models import Application, DocumentAnalysis, Workflow
from agents.workflows import selectors
from conversations.admin_audit import AuditedAdmin, ReadOnlyAdmin

# While an analysis runs its admin pages reload this often, so its progress moves.
RELOAD_SECONDS = 3


@admin.register(Workflow)
class WorkflowAdmin(AuditedAdmin):
    list_display = ["name", "kind", "title", "ai_agent", "inbox", "decision_deadline_seconds", "on_expiry", "enabled"]
    list_filter = ["kind", "enabled"]


class ReloadWhileRunning:
    """Reload the list or the page while a submission of it is still being worked on."""

    def changelist_view(self, request, extra_context=None):
        running = self.model.objects.filter(status__in=self.model.OPEN).exists()
        return super().changelist_view(request, {**(extra_context or {}), "reload_seconds": running and RELOAD_SECONDS})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        running = self.model.objects.filter(pk=object_id, status__in=self.model.OPEN).exists()
        extra = {**(extra_context or {}), "reload_seconds": running and RELOAD_SECONDS}
        return super().change_view(request, object_id, form_url, extra)


@admin.register(DocumentAnalysis)
class DocumentAnalysisAdmin(ReloadWhileRunning, ReadOnlyAdmin):
    change_list_template = "admin/agents/reloading_change_list.html"
    change_form_template = "admin/agents/reloading_change_form.html"
    list_display = ["pk", "title", "status", "progress", "pages", "inbox", "requires_signoff", "created_at"]
    list_filter = ["status", "requires_signoff", "inbox"]
    search_fields = ["title", "file_name"]
    fields = ["title", "status", "reason", "progress", "inbox", "workflow", "requested_by", "file_name",
              "content_type", "size_bytes", "sha256", "pages", "requires_signoff", "signed_off_by",
              "signoff_comment", "created_at", "finished_at", "report_shown"]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("text")

    @admin.display(description="progress")
    def progress(self, analysis):
        done = selectors.analysis_progress(analysis)
        bar = '<progress value="{}" max="{}"></progress> {} of {} chunks{}'
        failed = f", {done['failed']} failed" if done["failed"] else ""
        return format_html(bar, done["done"] + done["failed"], done["total"] or 1, done["done"], done["total"], failed)

    @admin.display(description="report")
    def report_shown(self, analysis):
        return pretty_json(analysis.report) if analysis.report else "—"


@admin.register(Application)
class ApplicationAdmin(ReloadWhileRunning, ReadOnlyAdmin):
    change_list_template = "admin/agents/reloading_change_list.html"
    change_form_template = "admin/agents/reloading_change_form.html"
    list_display = ["pk", "workflow", "status", "risk_level", "decision", "decided_by", "inbox", "created_at"]
    list_filter = ["status", "risk_level", "decision", "workflow"]
    fields = ["workflow", "status", "reason", "inbox", "requested_by", "applicant_shown", "summary", "fields_shown",
              "risk_level", "risk_score", "risk_factors", "recommendation", "decision", "decision_reasons",
              "decided_by", "decided_at", "callback_url", "callback_delivered_at", "callback_attempts", "created_at",
              "trace"]  # fmt: skip
    readonly_fields = fields

    @admin.display(description="applicant")
    def applicant_shown(self, application):
        return pretty_json(application.applicant)

    @admin.display(description="fields")
    def fields_shown(self, application):
        return pretty_json(application.fields)

    @admin.display(description="trace")
    def trace(self, application):
        steps = [step for run in selectors.application_payload(application)["trace"] for step in run["steps"]]
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((s["index"], s["node"], s["type"], s["status"], json.dumps(s["output"])[:300]) for s in steps),
        )  # fmt: skip
        return format_html("<table><tr><th>#</th><th>node</th><th>type</th><th>status</th><th>output</th></tr>{}"
                           "</table>", rows)  # fmt: skip
