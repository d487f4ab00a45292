"""The workflows API (`/api/v1/`): submit a document for analysis or an application for review
(202: the workers take it from there), and read it back with its progress, report, assessment,
decision and trace. A session or a personal API token (`Authorization: Token …`) authenticates;
submitting needs the model permission (*Can add document analysis* / *Can add application*) and
the inbox; reading needs the inbox (anyone who works it). Errors are `{"error": {"code",
"message"}}` like every API of the console."""

import json

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.kinds import RunKind
from agents.models import Application, DocumentAnalysis, Workflow
from agents.workflows import documents, selectors, services
from conversations.models import Inbox
from conversations.selectors import inbox_ids_worked_by
from hilconsole.api import error_responses, validated
from hilconsole.errors import DomainError

APPLICANT_MAX_BYTES = 10_000
DOCUMENT_MAX_CHARS = 200_000
DOCUMENTS_MAX = 20


class TooLarge(DomainError):
    status = 413
    code = "file_too_large"


class MaySubmit(BasePermission):
    """The model permission to add the view's submissions (checked before a body is read)."""

    def has_permission(self, request, view):
        if request.method != "POST":
            return True
        allowed = request.user.has_perm(view.submit_permission)
        self.message = f"This account may not submit {view.submitted}."
        return allowed


class WorkflowsView(APIView):
    # Token first: a caller without credentials is told how to authenticate (401), not refused (403).
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, MaySubmit]


def workflow_named(name: str, kind: str) -> Workflow:
    workflow = Workflow.objects.select_related("ai_agent__pipeline_version").filter(name=name, kind=kind).first()
    if workflow is None or not workflow.enabled:
        raise exceptions.ValidationError({"kind": [f"No {RunKind(kind).label} kind named {name!r} is enabled."]})
    return workflow


def inbox_for(user, inbox_id: int | None, workflow: Workflow) -> Inbox:
    """The inbox named (or the workflow's), if the caller works it."""
    inbox_id = inbox_id or workflow.inbox_id
    if inbox_id not in inbox_ids_worked_by(user):
        raise exceptions.ValidationError({"inbox": ["No such inbox for this account."]})
    return Inbox.objects.get(pk=inbox_id)


# Document analyses ----------------------------------------------------------------------------


class AnalysisFields(serializers.Serializer):
    title = serializers.CharField(required=False, max_length=300)
    inbox = serializers.IntegerField(required=False, min_value=1)
    requires_signoff = serializers.BooleanField(required=False, default=False)
    kind = serializers.SlugField(required=False, default="document_analysis", max_length=80)


class AnalysisTextIn(AnalysisFields):
    text = serializers.CharField(help_text="The document's text; a form feed starts a page.")


class AnalysisFileIn(AnalysisFields):
    file = serializers.FileField(required=False, help_text="A .txt, .md, .html or .pdf file.")
    text = serializers.CharField(required=False)


class Accepted(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class ProgressOut(serializers.Serializer):
    done = serializers.IntegerField(help_text="Chunks analysed.")
    failed = serializers.IntegerField(help_text="Chunks given up on after their retries (listed in the report).")
    total = serializers.IntegerField()
    percent = serializers.IntegerField()


class SignoffOut(serializers.Serializer):
    status = serializers.CharField()
    by = serializers.CharField(allow_blank=True)
    comment = serializers.CharField(allow_blank=True)


class SubmissionOut(serializers.Serializer):
    """What an analysis and an application both show."""

    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="The workflow's name.")
    reason = serializers.CharField(allow_blank=True, help_text="Why it failed, when it did.")
    inbox = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class AnalysisOut(SubmissionOut):
    title = serializers.CharField()
    status = serializers.ChoiceField(DocumentAnalysis.Status.choices)
    pages = serializers.IntegerField()
    requires_signoff = serializers.BooleanField()
    progress = ProgressOut()
    report = serializers.DictField(
        allow_null=True,
        help_text="executive_summary, findings [{text, severity, chunk, pages}], entities {people, organisations, "
        "dates, amounts: [{value, chunks}]}, risk_flags [{flag, chunks}], failed_chunks [{chunk, pages, error, "
        "attempts}], chunks {total, analysed, failed}",
    )
    signoff = SignoffOut(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


def workflows_schema(operation: str, summary: str, answers: dict, **extra):
    return extend_schema(operation_id=operation, tags=["workflows"], summary=summary, responses=answers, **extra)


class AnalysisCreate(WorkflowsView):
    """POST /api/v1/analyses: a file (multipart `file`) or `text`; 202 `{id, status}`."""

    parser_classes = [MultiPartParser, JSONParser]
    submit_permission, submitted = "agents.add_documentanalysis", "documents for analysis"

    @workflows_schema(
        "analysis_submit", "Submit a document for analysis",
        {202: Accepted, **error_responses(400, 401, 403, 413, 415)},
        request={"multipart/form-data": AnalysisFileIn, "application/json": AnalysisTextIn},
    )  # fmt: skip
    def post(self, request):
        upload = request.data.get("file") if hasattr(request.data, "getlist") else None
        data = validated(AnalysisFileIn, _plain(request.data))
        if bool(upload) == bool(data.get("text")):
            raise exceptions.ValidationError({"file": ["Send a file or a text (one of them)."]})
        workflow = workflow_named(data["kind"], RunKind.DOCUMENT_ANALYSIS)
        inbox = inbox_for(request.user, data.get("inbox"), workflow)
        document = _document(upload, data.get("text", ""))
        title = data.get("title") or (upload.name if upload else document.text.strip().split("\n", 1)[0][:120])
        analysis = services.analysis_submit(request.user, workflow=workflow, inbox=inbox, title=title or "Untitled",
                                            document=document, requires_signoff=data["requires_signoff"])  # fmt: skip
        return Response({"id": analysis.pk, "status": analysis.status}, status=status.HTTP_202_ACCEPTED)


def _plain(data) -> dict:
    """The request's fields without the upload (a QueryDict of a form, or parsed JSON)."""
    if hasattr(data, "getlist"):
        return {key: data.get(key) for key in data if key != "file"}
    return data if isinstance(data, dict) else {}


def _document(upload, text: str) -> services.DocumentText:
    limit = settings.ANALYSIS_UPLOAD_MAX_BYTES
    megabytes = f"{limit / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
    try:
        if upload is None:
            if len(text.encode()) > limit:
                raise TooLarge(f"The text is larger than {megabytes} MB.")
            return documents.document_text(text.encode(), content_type="txt")
        if upload.size > limit:
            raise TooLarge(f"The file is larger than {megabytes} MB.")
        content_type = documents.type_of(upload.name or "")
        return documents.document_text(upload.read(), file_name=upload.name, content_type=content_type)
    except documents.DocumentUnreadable as unreadable:
        raise exceptions.ValidationError({"file" if upload else "text": [str(unreadable)]}) from None


class AnalysisDetail(WorkflowsView):
    @workflows_schema("analysis", "An analysis: progress, and the report once done",
                      {200: AnalysisOut, **error_responses(401, 404)})  # fmt: skip
    def get(self, request, analysis_id: int):
        return Response(selectors.analysis_payload(selectors.access_analysis(request.user, analysis_id)))


# Applications ---------------------------------------------------------------------------------


class DocumentIn(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    text = serializers.CharField(max_length=DOCUMENT_MAX_CHARS)


class ApplicationIn(serializers.Serializer):
    kind = serializers.SlugField(max_length=80, help_text="The application kind, e.g. refund_claim.")
    applicant = serializers.DictField(help_text="Who applies: name, email, customer_id (their id in your system).")
    documents = serializers.ListField(child=DocumentIn(), required=False, default=list, max_length=DOCUMENTS_MAX)
    fields = serializers.DictField(required=False, default=dict)
    callback_url = serializers.URLField(required=False, allow_blank=True, default="", max_length=500)
    inbox = serializers.IntegerField(required=False, min_value=1)

    def validate_applicant(self, applicant):
        if not applicant:
            raise serializers.ValidationError("Say who applies (a name, an email, their id in your system).")
        return self._small(applicant)

    def validate_fields(self, fields):
        return self._small(fields)

    def validate_callback_url(self, url):
        if url and not url.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("A callback is an http:// or https:// URL.")
        return url

    @staticmethod
    def _small(value: dict) -> dict:
        text = json.dumps(value)
        if len(text.encode()) > APPLICANT_MAX_BYTES or "\\u0000" in text:
            raise serializers.ValidationError(f"At most {APPLICANT_MAX_BYTES} bytes of JSON, without NUL characters.")
        return value


class RiskOut(serializers.Serializer):
    level = serializers.CharField(allow_null=True)
    score = serializers.IntegerField(allow_null=True)
    factors = serializers.ListField(child=serializers.CharField())


class DecisionOut(serializers.Serializer):
    decision = serializers.ChoiceField(["approve", "reject"])
    reasons = serializers.ListField(child=serializers.CharField(allow_blank=True))
    decided_by = serializers.CharField(allow_blank=True, help_text="AI, a reviewer's name, or the deadline.")
    decided_at = serializers.DateTimeField(allow_null=True)


class ApplicationOut(SubmissionOut):
    status = serializers.ChoiceField(Application.Status.choices)
    applicant = serializers.DictField()
    fields = serializers.DictField()
    validation = serializers.DictField(help_text="passed [rule names], failed [{name, message, hard}], hard_failed")
    summary = serializers.CharField(allow_blank=True)
    risk = RiskOut()
    recommendation = serializers.DictField(allow_null=True, help_text="The AI's: decision and reasons.")
    decision = DecisionOut(allow_null=True)
    trace = serializers.ListField(child=serializers.DictField(), help_text="Each run's trace: steps, tools, costs.")


class ApplicationCreate(WorkflowsView):
    """POST /api/v1/applications: 202 `{id, status}`; the decision comes back by GET and, with a
    `callback_url`, as a signed POST (X-HIL-Signature: sha256=HMAC of the body)."""

    submit_permission, submitted = "agents.add_application", "applications"

    @workflows_schema("application_submit", "Submit an application for review",
                      {202: Accepted, **error_responses(400, 401, 403, 413, 415)}, request=ApplicationIn)  # fmt: skip
    def post(self, request):
        data = validated(ApplicationIn, request.data)
        workflow = workflow_named(data["kind"], RunKind.APPLICATION)
        inbox = inbox_for(request.user, data.get("inbox"), workflow)
        application = services.application_submit(
            request.user, workflow=workflow, inbox=inbox, applicant=data["applicant"],
            documents=[dict(document) for document in data["documents"]], fields=data["fields"],
            callback_url=data["callback_url"],
        )  # fmt: skip
        return Response({"id": application.pk, "status": application.status}, status=status.HTTP_202_ACCEPTED)


class ApplicationDetail(WorkflowsView):
    @workflows_schema("application", "An application: status, risk, decision, who decided, the trace",
                      {200: ApplicationOut, **error_responses(401, 404)})  # fmt: skip
    def get(self, request, application_id: int):
        application = selectors.access_application(request.user, application_id)
        return Response(selectors.application_payload(application))
