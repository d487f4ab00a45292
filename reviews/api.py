"""The approvals API (`/api/v1/`): reviewers' decisions for any agent, the console's own and
outside ones. A session or a personal API token (`Authorization: Token …`, created in the admin)
authenticates; a caller sees only the tasks it may decide (the tools it may approve, in the
inboxes it works). Errors are `{"error": {"code", "message"}}` like every API of the console.
"""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Tool
from conversations.models import Inbox
from hilconsole.api import error_responses, validated
from reviews import review_tasks, selectors
from reviews.arguments import ArgumentsInvalid
from reviews.models import ReviewTask

PAGE = 100


class ApprovalsView(APIView):
    # Token first: a caller without credentials is told how to authenticate (401 with
    # WWW-Authenticate), rather than refused (403).
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]


class ListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=ReviewTask.Status.values, required=False)
    after = serializers.IntegerField(min_value=0, required=False, default=0)


class DecisionIn(serializers.Serializer):
    decision = serializers.ChoiceField(choices=list(review_tasks.DECISIONS))
    arguments = serializers.DictField(required=False)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class ApprovalIn(serializers.Serializer):
    tool = serializers.CharField(max_length=80)
    arguments = serializers.DictField()
    rationale = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    inbox = serializers.IntegerField(min_value=1)
    callback_url = serializers.URLField(required=False, allow_blank=True, default="", max_length=500)


class TaskOut(serializers.Serializer):
    """A task as the API shows it (for the OpenAPI schema)."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(ReviewTask.Kind.choices)
    tool = serializers.CharField(allow_null=True)
    arguments = serializers.DictField()
    final_arguments = serializers.DictField(allow_null=True)
    rationale = serializers.CharField(allow_blank=True)
    risk = serializers.CharField()
    status = serializers.ChoiceField(ReviewTask.Status.choices)
    deadline = serializers.DateTimeField()
    conversation_id = serializers.IntegerField(allow_null=True)
    inbox = serializers.IntegerField()
    decided_by = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    comment = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    action = serializers.CharField(help_text="The action in plain words.")


class TaskPage(serializers.Serializer):
    results = TaskOut(many=True)
    has_more = serializers.BooleanField()


def approvals_schema(operation: str, summary: str, answers: dict, **extra):
    return extend_schema(operation_id=operation, tags=["approvals"], summary=summary, responses=answers, **extra)


def payload(task: ReviewTask) -> dict:
    return {**review_tasks.decision_payload(task), "action": task.in_words}


class ReviewTaskList(ApprovalsView):
    """GET /api/v1/review-tasks?status=open&after=<id>: the tasks the caller may decide, oldest
    first, 100 at a time (`has_more` says whether to ask again with `after` the last id)."""

    @approvals_schema(
        "review_tasks_list", "The tasks you may decide", {200: TaskPage, **error_responses(400, 401)},
        parameters=[ListQuery],
    )  # fmt: skip
    def get(self, request):
        query = validated(ListQuery, request.query_params)
        tasks = selectors.review_tasks_visible_to(request.user).filter(pk__gt=query["after"])
        if query.get("status"):
            tasks = tasks.filter(status=query["status"])
        page = list(tasks.select_related("tool").order_by("created_at", "pk")[: PAGE + 1])
        return Response({"results": [payload(task) for task in page[:PAGE]], "has_more": len(page) > PAGE})


class ReviewTaskDetail(ApprovalsView):
    @approvals_schema("review_task", "One task you may decide", {200: TaskOut, **error_responses(401, 404)})
    def get(self, request, task_id: int):
        return Response(payload(selectors.access_review_task(request.user, task_id)))


class ReviewTaskDecision(ApprovalsView):
    """POST /api/v1/review-tasks/{id}/decision: approve, edit (with `arguments`), reject (with a
    `comment`) or respond (with a `message` for the customer)."""

    @approvals_schema(
        "review_task_decide", "Decide a task", {200: TaskOut, **error_responses(400, 401, 404, 409, 413, 415)},
        request=DecisionIn,
    )  # fmt: skip
    def post(self, request, task_id: int):
        data = validated(DecisionIn, request.data)
        try:
            task = review_tasks.review_task_decide(
                request.user, task_id, data["decision"], arguments=data.get("arguments"), comment=data["comment"],
                message=data["message"],
            )  # fmt: skip
        except review_tasks.DecisionInvalid as invalid:
            raise exceptions.ValidationError({invalid.field: [invalid.message]})
        return Response(payload(task))


class ApprovalCreate(ApprovalsView):
    """POST /api/v1/approvals: an outside agent asks for a person's decision on a call of one of
    its tools. It waits on the reviewers' desk; the decision comes back by GET and, when a
    `callback_url` is given, as a signed POST (X-HIL-Signature: sha256=HMAC of the body)."""

    @approvals_schema(
        "approval_request", "Ask for a person's decision on a call of your tool",
        {201: TaskOut, **error_responses(400, 401, 403, 413, 415)}, request=ApprovalIn,
    )  # fmt: skip
    def post(self, request):
        data = validated(ApprovalIn, request.data)
        if not request.user.has_perm("reviews.add_reviewtask"):
            raise exceptions.PermissionDenied("This account may not ask for approvals.", code="not_allowed")
        inbox = Inbox.objects.filter(pk=data["inbox"]).first()
        if inbox is None or not selectors.may_work_inbox(request.user, inbox.pk):
            raise exceptions.ValidationError({"inbox": ["No such inbox for this account."]})
        tool = Tool.objects.filter(name=data["tool"]).first()
        if tool is None:
            raise exceptions.ValidationError({"tool": [f"No tool named {data['tool']!r}; an admin adds it first."]})
        try:
            task = review_tasks.review_task_request(
                request.user, tool=tool, arguments=data["arguments"], rationale=data["rationale"], inbox=inbox,
                callback_url=data["callback_url"],
            )  # fmt: skip
        except ArgumentsInvalid as invalid:
            raise exceptions.ValidationError({f"arguments.{name}": errors for name, errors in invalid.fields.items()}
                                             or {"arguments": [str(invalid)]})  # fmt: skip
        return Response(payload(task), status=status.HTTP_201_CREATED)


class ApprovalDetail(ApprovalsView):
    """GET /api/v1/approvals/{id}: the request and, once made, the decision, for whoever asked."""

    @approvals_schema("approval", "Your request and its decision", {200: TaskOut, **error_responses(401, 404)})
    def get(self, request, task_id: int):
        task = ReviewTask.objects.select_related("tool").filter(pk=task_id, requested_by=request.user).first()
        if task is None:
            raise Http404("No such approval request of yours.")
        return Response(payload(task))
