"""The staff API of the agents app: run traces."""

from django.http import Http404
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import PipelineRun
from agents.pipelines.trace import run_trace
from conversations.selectors import inbox_ids_worked_by


class MayViewRuns(BasePermission):
    """The model permission "Can view pipeline run" (superusers have every permission)."""

    message = "Reading run traces needs the permission to view pipeline runs."

    def has_permission(self, request, view):
        return request.user.has_perm("agents.view_pipelinerun")


class RunTrace(APIView):
    """GET /api/v1/runs/{id}/trace: the run's steps with type, node, tokens, cost, latency and tools.

    A run of an inbox the user does not work does not exist for them (404), as on the desk.
    """

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated, MayViewRuns]

    def get(self, request, run_id: int):
        run = (
            PipelineRun.objects.select_related("version__pipeline", "agent")
            .filter(pk=run_id, conversation__inbox_id__in=inbox_ids_worked_by(request.user))
            .first()
        )
        if run is None:
            raise Http404(f"No run {run_id} in your inboxes.")
        return Response(run_trace(run))
