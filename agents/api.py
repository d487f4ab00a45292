"""The staff API of the agents app: run traces."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import PipelineRun
from agents.pipelines.trace import run_trace
from conversations.selectors import inbox_ids_worked_by
from hilconsole.api import error_responses


class MayViewRuns(BasePermission):
    """The model permission "Can view pipeline run" (superusers have every permission)."""

    message = "Reading run traces needs the permission to view pipeline runs."

    def has_permission(self, request, view):
        return request.user.has_perm("agents.view_pipelinerun")


class TotalsOut(serializers.Serializer):
    tokens = serializers.IntegerField()
    cost_usd = serializers.FloatField()
    latency_ms = serializers.FloatField()


class StepOut(serializers.Serializer):
    index = serializers.IntegerField()
    node = serializers.CharField()
    type = serializers.CharField()
    status = serializers.CharField()
    model = serializers.CharField(allow_blank=True)
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    tokens = serializers.IntegerField()
    cost_usd = serializers.FloatField()
    latency_ms = serializers.FloatField()
    tools = serializers.ListField(child=serializers.DictField(), help_text="Each tool call: name, outcome, …")
    tool = serializers.CharField(allow_blank=True)
    outcome = serializers.CharField(allow_blank=True)
    intent = serializers.CharField(allow_blank=True)
    confidence = serializers.FloatField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    output = serializers.DictField()
    started_at = serializers.DateTimeField()


class RunTraceOut(serializers.Serializer):
    run_id = serializers.IntegerField()
    trace_id = serializers.CharField()
    conversation_id = serializers.IntegerField()
    pipeline = serializers.CharField()
    agent = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    totals = TotalsOut()
    steps = StepOut(many=True)


class RunTrace(APIView):
    """GET /api/v1/runs/{id}/trace: the run's steps with type, node, tokens, cost, latency and tools.

    A run of an inbox the user does not work does not exist for them (404), as on the desk.
    """

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated, MayViewRuns]

    @extend_schema(
        tags=["staff"],
        operation_id="run_trace",
        summary="A run's trace (session sign-in, the permission to view runs, a run of your inboxes)",
        responses={200: RunTraceOut, **error_responses(403, 404)},
    )
    def get(self, request, run_id: int):
        run = (
            PipelineRun.objects.select_related("version__pipeline", "agent")
            .filter(pk=run_id, conversation__inbox_id__in=inbox_ids_worked_by(request.user))
            .first()
        )
        if run is None:
            raise Http404(f"No run {run_id} in your inboxes.")
        return Response(run_trace(run))
