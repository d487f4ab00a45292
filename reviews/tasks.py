"""The desk's Celery tasks: thin, they take ids and call a service, and are safe to run twice
(a repeat finds the handover already assigned, the agent already away, the handover already
escalated)."""

import httpx
from celery import shared_task
from django.utils import timezone

from agents.callbacks import signed_post
from reviews import review_tasks, services
from reviews.models import ReviewTask


class CallbackRefused(Exception):
    """The outside agent's callback answered something else than 2xx: worth another try later."""


@shared_task(name="reviews.assign_handover", ignore_result=True)
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


@shared_task(name="reviews.review_deadline_sweep")
def review_deadline_sweep() -> dict[str, int]:
    return review_tasks.review_deadline_sweep()


@shared_task(
    name="reviews.deliver_review_callback",
    ignore_result=True,
    autoretry_for=(httpx.HTTPError, CallbackRefused),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=10,
)
def deliver_review_callback(task_id: int) -> bool:
    """POST the decision to the outside agent's callback URL, signed; retried with backoff until
    it answers 2xx. A repeat after a delivery sends nothing."""
    task = ReviewTask.objects.select_related("tool").filter(pk=task_id).first()
    if task is None or not task.callback_url or task.callback_delivered_at or task.is_open:
        return False
    ReviewTask.objects.filter(pk=task_id).update(callback_attempts=task.callback_attempts + 1)
    response = signed_post(task.callback_url, review_tasks.decision_payload(task), {"X-HIL-Review-Task": str(task.pk)})
    if response.status_code >= 300:
        raise CallbackRefused(f"{task.callback_url} answered {response.status_code}")
    ReviewTask.objects.filter(pk=task_id).update(callback_delivered_at=timezone.now())
    return True
