"""Reads of the agents app that other apps and views share."""

from agents.models import PipelineRun
from agents.pipelines.trace import run_trace


def conversation_run_traces(conversation_id: int, limit: int = 5) -> list[dict]:
    """The traces of the conversation's latest AI runs, newest first."""
    runs = (
        PipelineRun.objects.filter(conversation_id=conversation_id)
        .select_related("version__pipeline", "agent")
        .prefetch_related("steps")
        .order_by("-started_at")[:limit]
    )
    return [run_trace(run) for run in runs]
