"""The desk's Celery tasks: thin, they take ids and call a service, and are safe to run twice
(a repeat finds the handover already assigned, the agent already away, the handover already
escalated)."""

from celery import shared_task

from reviews import services


@shared_task(name="reviews.assign_handover")
def assign_handover(conversation_id: int) -> int | None:
    assigned = services.handover_auto_assign(conversation_id)
    return assigned.pk if assigned else None


@shared_task(name="reviews.assign_waiting")
def assign_waiting(inbox_id: int) -> int:
    return services.assign_waiting(inbox_id)


@shared_task(name="reviews.assignment_sweep")
def assignment_sweep() -> int:
    return services.assignment_sweep()


@shared_task(name="reviews.presence_sweep")
def presence_sweep() -> dict[str, int]:
    return services.presence_sweep()


@shared_task(name="reviews.sla_sweep")
def sla_sweep() -> list[int]:
    return services.sla_sweep()
