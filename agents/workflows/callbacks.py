"""An application's decision, POSTed once to the callback URL its caller gave (signed as every
callback of the console is, agents.callbacks)."""

import httpx
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agents.callbacks import signed_post
from agents.models import Application
from agents.workflows.selectors import application_payload


class CallbackFailed(Exception):
    """The callback did not answer 2xx (or not at all): worth another try later."""


def application_callback_deliver(application_id: int) -> bool:
    """POST the decision; True once delivered. The row stays locked while the POST is under way,
    so a second delivery of the same decision (a repeated task, the sweep) finds it taken and
    sends nothing: the callback is delivered once."""
    # Counted outside the delivery's transaction, so a failed attempt counts too.
    counted = Application.objects.filter(pk=application_id, callback_delivered_at=None).exclude(callback_url="")
    if not counted.update(callback_attempts=F("callback_attempts") + 1):
        return False
    with transaction.atomic():
        application = (
            Application.objects.select_for_update(skip_locked=True).select_related("workflow")
            .filter(pk=application_id).first()
        )  # fmt: skip
        if application is None or not application.callback_url or application.callback_delivered_at:
            return False
        if application.is_open:
            return False
        try:
            response = signed_post(application.callback_url, application_payload(application, trace=False),
                                   {"X-HIL-Application": str(application.pk)})  # fmt: skip
        except httpx.HTTPError as error:
            raise CallbackFailed(f"{application.callback_url}: {type(error).__name__}") from error
        if response.status_code >= 300:
            raise CallbackFailed(f"{application.callback_url} answered {response.status_code}")
        Application.objects.filter(pk=application_id).update(callback_delivered_at=timezone.now())
    return True


def undelivered_callbacks(*, idle_seconds: float, limit: int = 200) -> list[int]:
    """Decided applications whose callback was never delivered, decided a while ago (the request
    to deliver it was lost; a failing callback's retries are Celery's)."""
    since = timezone.now() - timezone.timedelta(seconds=idle_seconds)
    found = Application.objects.filter(decided_at__lt=since, callback_delivered_at=None, callback_attempts=0)
    return list(found.exclude(callback_url="").values_list("pk", flat=True)[:limit])
