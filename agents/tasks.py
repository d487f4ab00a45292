"""The agents app's Celery tasks: thin, they take ids and call a service, and are safe to run twice."""

from celery import shared_task
from celery.signals import worker_ready

from agents.knowledge import services as knowledge


@shared_task(name="agents.ingest_document")
def ingest_document(document_id: int, force: bool = False) -> bool:
    """A repeat finds the document current (or gone) and does nothing."""
    return knowledge.knowledge_ingest(document_id, force=force)


@shared_task(name="agents.reembed_all")
def reembed_all() -> int:
    """A repeat, or a second worker's run, finds fewer documents left to do."""
    return knowledge.knowledge_reembed_all()


@worker_ready.connect
def _reembed_after_an_embedding_model_change(**kwargs):
    # The embedding model changes only with a deploy, and a deploy restarts the workers: the
    # knowledge base catches up as soon as one is back. With nothing stale this costs one query.
    reembed_all.delay()
