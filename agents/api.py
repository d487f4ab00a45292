"""The staff API of the agents app: run traces."""

from django.http import Http404
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import PipelineRun
from agents.pipelines.trace import run_trace


class RunTrace(APIView):
    """GET /api/v1/runs/{id}/trace: the run's steps with type, node, tokens, cost, latency and tools."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAdminUser]

    def get(self, request, run_id: int):
        run = PipelineRun.objects.select_related("version__pipeline", "agent").filter(pk=run_id).first()
        if run is None:
            raise Http404(f"No run {run_id}.")
        return Response(run_trace(run))
