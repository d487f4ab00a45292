"""The agents app's Celery tasks: thin, they take ids and call a service, and are safe to run twice."""

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from agents.knowledge import services as knowledge
from agents.models import PipelineRun
from agents.pipelines import turns


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
        delay = min(settings.AI_TURN_BUSY_RETRY_SECONDS * 2 ** min(self.request.retries, 4), 2.0)
        raise self.retry(countdown=delay, exc=busy) from busy


@shared_task(name="agents.resume_run", bind=True, max_retries=None, ignore_result=True)
def resume_run(self, run_id: int) -> list[int]:
    """A run that got its decision goes on. A repeat finds it advanced (or advancing) already."""
    conversation_id = PipelineRun.objects.filter(pk=run_id).values_list("conversation_id", flat=True).first()
    if conversation_id is None:
        return []
    try:
        return turns.turn_run(conversation_id)
    except turns.TurnBusy as busy:
        delay = min(settings.AI_TURN_BUSY_RETRY_SECONDS * 2 ** min(self.request.retries, 4), 2.0)
        raise self.retry(countdown=delay, exc=busy) from busy


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
