from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.html import format_html

from agents.knowledge.extraction import KnowledgeFileRefused, read_upload
from agents.knowledge.services import (
    knowledge_document_delete,
    knowledge_document_save,
    knowledge_documents_reembed,
)
from agents.models import KnowledgeDocument

Status = KnowledgeDocument.Status


class KnowledgeDocumentForm(forms.ModelForm):
    class Meta:
        model = KnowledgeDocument
        fields = ["title", "source", "inbox", "language", "format", "body", "upload"]
        widgets = {"body": forms.Textarea(attrs={"rows": 24, "cols": 100})}
        help_texts = {
            "upload": "A .md, .html or .txt file (UTF-8). Its text replaces the body and sets the format.",
            "title": "Leave empty to use the uploaded file's name.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload and "upload" in self.changed_data:
            try:
                read_upload(upload)
            except KnowledgeFileRefused as error:
                raise forms.ValidationError(str(error))
        return upload

    def clean(self):
        cleaned = super().clean()
        new_upload = self.new_upload()
        if not cleaned.get("body", "").strip() and not new_upload:
            raise forms.ValidationError("Paste the text of the document or upload a file.")
        if not cleaned.get("title") and new_upload:
            cleaned["title"] = Path(new_upload.name).stem.replace("-", " ").replace("_", " ").capitalize()
        if not cleaned.get("title"):
            self.add_error("title", "Give the document a title.")
        return cleaned

    def new_upload(self):
        """The file uploaded with this submission, if any (not the one stored before)."""
        return (self.cleaned_data.get("upload") or None) if "upload" in self.changed_data else None


@admin.register(KnowledgeDocument)
class KnowledgeDocumentAdmin(admin.ModelAdmin):
    form = KnowledgeDocumentForm
    list_display = ["title", "inbox", "language", "format", "ingestion", "chunk_count", "updated_at"]
    list_filter = ["status", "language", "format", "inbox"]
    search_fields = ["title", "source", "body"]
    actions = ["reembed"]
    readonly_fields = ["ingestion", "chunk_count", "error", "embedding_model", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "source", "inbox", "language"]}),
        ("Content", {"fields": ["format", "body", "upload"]}),
        ("Ingestion", {"fields": readonly_fields}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("inbox").annotate(number_of_chunks=Count("chunks"))

    @admin.display(description="ingestion", ordering="status")
    def ingestion(self, document):
        if document.status in (Status.PENDING, Status.INGESTING):
            bar = '<progress value="{}" max="100"></progress> {} {}%'
            return format_html(bar, document.progress, document.status, document.progress)
        return document.status

    @admin.display(description="chunks", ordering="number_of_chunks")
    def chunk_count(self, document):
        return getattr(document, "number_of_chunks", 0)

    def changelist_view(self, request, extra_context=None):
        # The list reloads itself while the worker ingests, so the progress bars move.
        running = KnowledgeDocument.objects.filter(status__in=[Status.PENDING, Status.INGESTING]).exists()
        return super().changelist_view(request, {**(extra_context or {}), "ingestion_running": running})

    def save_model(self, request, document, form, change):
        knowledge_document_save(document, upload=form.new_upload())
        if document.status == Status.PENDING:
            messages.info(request, f"“{document}” is queued for ingestion; its progress shows in the list.")

    def delete_model(self, request, document):
        knowledge_document_delete(document.pk)

    def delete_queryset(self, request, queryset):
        for document_id in queryset.values_list("pk", flat=True):
            knowledge_document_delete(document_id)

    @admin.action(description="Re-embed")
    def reembed(self, request, queryset):
        count = knowledge_documents_reembed(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} document(s) queued for re-embedding.", messages.SUCCESS)
