"""The agents app's Celery tasks: thin, they take ids and call a service, and are safe to run twice."""

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from agents.knowledge import services as knowledge
from agents.models import PipelineRun
from agents.pipelines import engine, turns
from agents.workflows import callbacks, runs


@shared_task(name="agents.ingest_document")
def ingest_document(document_id: int, force: bool = False) -> bool:
    """A repeat finds the document current (or gone) and does nothing."""
    return knowledge.knowledge_ingest(document_id, force=force)


@shared_task(name="agents.reembed_all")
def reembed_all() -> int:
    """A repeat, or a second worker's run, finds fewer documents left to do."""
    return knowledge.knowledge_reembed_all()


@shared_task(name="agents.run_turn", bind=True, max_retries=None, ignore_result=True)
def run_turn(self, conversation_id: int, requested_at: float | None = None) -> list[int]:
    """One AI turn of a conversation. A repeat continues a half-done run or finds nothing to do.

    While another worker runs a turn of the same conversation this one waits its turn: it may
    carry a message that turn has not seen.
    """
    try:
        return turns.turn_run(conversation_id, requested_at=requested_at)
    except turns.TurnBusy as busy:
        raise self.retry(countdown=_busy_delay(self.request.retries), exc=busy) from busy


@shared_task(name="agents.resume_run", bind=True, max_retries=None, ignore_result=True)
def resume_run(self, run_id: int) -> list[int]:
    """A run that got its decision (or whose items are all done) goes on. A repeat finds it
    advanced (or advancing) already."""
    kind, conversation_id = PipelineRun.objects.filter(pk=run_id).values_list("kind", "conversation_id").first() or (
        None,
        None,
    )
    try:
        if kind == PipelineRun.Kind.TURN:
            return turns.turn_run(conversation_id)
        return [run_id] if kind and runs.workflow_run(run_id) else []
    except (turns.TurnBusy, runs.RunBusy) as busy:
        raise self.retry(countdown=_busy_delay(self.request.retries), exc=busy) from busy


def _busy_delay(retries: int) -> float:
    return min(settings.AI_TURN_BUSY_RETRY_SECONDS * 2 ** min(retries, 4), 2.0)


@shared_task(name="agents.run_workflow", bind=True, max_retries=None)
def run_workflow(self, run_id: int) -> bool:
    """A submitted document analysis or application starts (or goes on). A repeat finds its run
    advanced, waiting or done."""
    try:
        return runs.workflow_run(run_id)
    except runs.RunBusy as busy:
        raise self.retry(countdown=_busy_delay(self.request.retries), exc=busy) from busy


@shared_task(name="agents.run_item", bind=True, max_retries=None)
def run_item(self, item_id: int) -> str:
    """One item of a run's fan-out (a chunk of a document). A redelivery after its worker died
    takes the item back; a failure is tried again after a pause, up to the item's attempts."""
    outcome = engine.item_process(item_id, self.request.id)
    if outcome == "retry":
        raise self.retry(countdown=min(2**self.request.retries, 30))
    return outcome


@shared_task(
    name="agents.deliver_application_callback",
    autoretry_for=(callbacks.CallbackFailed,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=10,
)
def deliver_application_callback(application_id: int) -> bool:
    return callbacks.application_callback_deliver(application_id)


@shared_task(name="agents.resume_stalled_workflows")
def resume_stalled_workflows() -> dict[str, int]:
    """Beat: workflow runs that made no progress, items no worker finished, decisions whose
    callback was never sent: each handed to a worker again."""
    stalled = runs.stalled_runs(idle_seconds=settings.AI_TURN_STALLED_SECONDS)
    for run_id in stalled:
        run_workflow.delay(run_id)
    items = engine.stalled_items()
    engine.items_send(items)
    undelivered = callbacks.undelivered_callbacks(idle_seconds=settings.AI_TURN_STALLED_SECONDS)
    for application_id in undelivered:
        deliver_application_callback.delay(application_id)
    return {"runs": len(stalled), "items": len(items), "callbacks": len(undelivered)}


@shared_task(name="agents.resume_stalled_turns")
def resume_stalled_turns() -> list[int]:
    """Beat: hand stalled turns to a worker again (a dead worker's run, a lost turn request)."""
    stalled = turns.conversations_needing_a_turn(idle_seconds=settings.AI_TURN_STALLED_SECONDS)
    for conversation_id in stalled:
        run_turn.delay(conversation_id)
    return stalled


@worker_ready.connect
def _reembed_after_an_embedding_model_change(**kwargs):
    # The embedding model changes only with a deploy, and a deploy restarts the workers: the
    # knowledge base catches up as soon as one is back. With nothing stale this costs one query.
    reembed_all.delay()
