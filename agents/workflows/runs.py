"""Advancing a workflow's run (a document analysis, an application) through the engine, and the
sinks that end it on its submission. One worker at a time advances a run (an advisory lock per
run); a run waiting for its items or a person's decision is sent on by whoever closes the wait."""

import time

from django.db import transaction
from django.utils import timezone

from agents.models import PipelineRun
from agents.pipelines import engine, locks
from agents.pipelines.engine import close_step
from agents.pipelines.graph import Graph
from agents.pipelines.nodes import Pause
from agents.workflows import services

R = PipelineRun.Status
RUN_LOCK_NAMESPACE = 7302


class RunBusy(Exception):
    """Another worker is advancing this run right now."""


def workflow_run(run_id: int) -> bool:
    """Advance the run until it ends or waits; False when there was nothing to do. Raises
    RunBusy when another worker holds it: the caller retries later."""
    with locks.advisory_lock(RUN_LOCK_NAMESPACE, run_id) as held:
        if not held:
            raise RunBusy(f"Run {run_id} is being advanced elsewhere.")
        run = PipelineRun.objects.select_related("agent__default_profile", "version__pipeline").filter(pk=run_id)
        run = run.first()
        if run is None or run.status != R.RUNNING or run.kind == PipelineRun.Kind.TURN:
            return False
        services.submission_started(run)
        engine.advance(run, SINKS)
        return True


class WorkflowSinks:
    """How a workflow's run ends or waits on its submission (the engine's `Sinks`)."""

    def finish(self, run: PipelineRun, graph: Graph, node_id: str) -> None:
        started, clock = timezone.now(), time.perf_counter()
        with transaction.atomic():
            services.submission_record(run)
            close_step(run, node_id, "finish", started, clock, {"outcome": run.state.get("outcome")},
                       status=R.FINISHED)  # fmt: skip

    def hand_over(self, run: PipelineRun, node: dict) -> None:
        raise AssertionError("a workflow's graph has no handover node")  # prevented by the graph checks

    def fail(self, run: PipelineRun, reason: str) -> None:
        started, clock = timezone.now(), time.perf_counter()
        with transaction.atomic():
            services.submission_fail(run, reason)
            run.reason = reason
            close_step(run, run.next_node or "failed", "fail", started, clock, {"code": reason}, status=R.FAILED)

    def paused(self, run: PipelineRun, pause: Pause) -> None:
        """The submission shows that a reviewer decides now."""
        services.submission_record(run)


SINKS = WorkflowSinks()


def stalled_runs(*, idle_seconds: float, limit: int = 500) -> list[int]:
    """Workflow runs left `running` with no progress (a worker that vanished, a lost request)."""
    since = timezone.now() - timezone.timedelta(seconds=idle_seconds)
    stalled = PipelineRun.objects.filter(status=R.RUNNING, updated_at__lt=since).exclude(kind=PipelineRun.Kind.TURN)
    return list(stalled.order_by("updated_at").values_list("pk", flat=True)[:limit])
