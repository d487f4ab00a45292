"""The agents app's Celery tasks: thin, they take ids and call a service, and are safe to run twice."""

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from agents.knowledge import services as knowledge
from agents.pipelines import runner


@shared_task(name="agents.ingest_document")
def ingest_document(document_id: int, force: bool = False) -> bool:
    """A repeat finds the document current (or gone) and does nothing."""
    return knowledge.knowledge_ingest(document_id, force=force)


@shared_task(name="agents.reembed_all")
def reembed_all() -> int:
    """A repeat, or a second worker's run, finds fewer documents left to do."""
    return knowledge.knowledge_reembed_all()


@shared_task(name="agents.run_turn", bind=True, max_retries=None)
def run_turn(self, conversation_id: int, requested_at: float | None = None) -> list[int]:
    """One AI turn of a conversation. A repeat continues a half-done run or finds nothing to do.

    While another worker runs a turn of the same conversation this one waits its turn: it may
    carry a message that turn has not seen.
    """
    try:
        return runner.turn_run(conversation_id, requested_at=requested_at)
    except runner.TurnBusy as busy:
        delay = min(settings.AI_TURN_BUSY_RETRY_SECONDS * 2 ** min(self.request.retries, 4), 2.0)
        raise self.retry(countdown=delay, exc=busy) from busy


@shared_task(name="agents.resume_stalled_turns")
def resume_stalled_turns() -> list[int]:
    """Beat: hand stalled turns to a worker again (a dead worker's run, a lost turn request)."""
    stalled = runner.conversations_needing_a_turn(idle_seconds=settings.AI_TURN_STALLED_SECONDS)
    for conversation_id in stalled:
        run_turn.delay(conversation_id)
    return stalled


@worker_ready.connect
def _reembed_after_an_embedding_model_change(**kwargs):
    # The embedding model changes only with a deploy, and a deploy restarts the workers: the
    # knowledge base catches up as soon as one is back. With nothing stale this costs one query.
    reembed_all.delay()
