"""Refund claims end to end: submitted to the real ASGI server, processed on a live Celery worker
against the demo shop; a low-risk claim is decided automatically, a risky one waits for a
reviewer; the decision reaches the caller's callback once, signed; beat's deadline sweep
escalates at half time and, at the deadline, applies the kind's policy."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Application, Workflow
from conversations.models import AuditEvent
from hilconsole.celery import app as celery_app
from reviews.models import ReviewTask
from tests.agents.workflows import api_client, back_office
from tests.callbacks import CallbackReceiver
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rita(reviewer):
    back_office(reviewer)
    return reviewer


@pytest.fixture
def api(live_server_url, rita, demo_orders_committed):
    with api_client(live_server_url, rita) as client:
        yield client


@pytest.fixture
def receiver():
    with CallbackReceiver() as receiver:
        yield receiver


def apply(api, receiver, customer: str, claim_text: str) -> int:
    response = api.post("/api/v1/applications", json={
        "kind": "refund_claim", "applicant": {"name": "A shop customer", "customer_id": customer},
        "documents": [{"name": "claim.txt", "text": claim_text}], "callback_url": receiver.url,
    })  # fmt: skip
    assert response.status_code == 202, response.text
    return response.json()["id"]


def reaches(application_id: int, *statuses: str) -> Application:
    wait_until(lambda: Application.objects.get(pk=application_id).status in statuses, f"the application {statuses}", 60)
    return Application.objects.get(pk=application_id)


def risky_claim(api, receiver) -> ReviewTask:
    """Marc claims €120 on his order 100412: over €100, so a reviewer decides."""
    application_id = apply(api, receiver, "shop-marc", "Order number: 100412\nAmount: €120.00\nReason: never arrived")
    reaches(application_id, "in_review")
    return ReviewTask.objects.get(kind="application")


def sweep() -> dict:
    return celery_app.send_task("reviews.review_deadline_sweep").get(timeout=30)


def test_a_low_risk_claim_is_decided_automatically_and_called_back_once(live_worker, api, receiver):
    application_id = apply(api, receiver, "shop-ana", "Order number: 100234\nAmount: €20.00\nReason: arrived broken")

    reaches(application_id, "approved", "rejected")
    shown = api.get(f"/api/v1/applications/{application_id}").json()
    assert shown["status"] == "approved" and shown["risk"]["level"] == "low"
    assert shown["decision"]["decision"] == "approve" and shown["decision"]["decided_by"] == "AI"
    assert shown["fields"] == {"order_number": "100234", "amount": 20.0, "reason": "arrived broken"}
    nodes = [step["node"] for step in shown["trace"][0]["steps"]]
    assert nodes == ["extract", "order", "checks", "risk", "decide", "notify", "done"]
    wait_until(lambda: receiver.calls, "the callback")
    celery_app.send_task("agents.deliver_application_callback", args=[application_id]).get(timeout=30)
    (called,) = receiver.decisions()  # signed, and once: a repeated delivery sends nothing
    assert (called["id"], called["status"], called["decision"]["decided_by"]) == (application_id, "approved", "AI")
    assert "trace" not in called


def test_beat_escalates_a_risky_claim_at_half_time_and_rejects_it_at_the_deadline(live_worker, api, receiver):
    task = risky_claim(api, receiver)
    assert task.on_expiry == "reject" and task.brief["recommendation"]["decision"] == "approve"
    ReviewTask.objects.filter(pk=task.pk).update(escalate_at=timezone.now() - timedelta(seconds=1))

    assert sweep() == {"escalated": 1, "expired": 0}
    ReviewTask.objects.filter(pk=task.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    assert sweep() == {"escalated": 0, "expired": 1}

    application = reaches(task.brief["application_id"], "approved", "rejected")
    assert (application.status, application.decided_by) == ("rejected", "the deadline")
    assert application.decision_reasons == ["Nobody decided before the deadline."]
    wait_until(lambda: receiver.calls, "the callback")
    assert [decision["status"] for decision in receiver.decisions()] == ["rejected"]


def test_at_the_deadline_a_kind_that_escalates_again_keeps_the_claim_waiting_with_a_new_deadline(
    live_worker, api, receiver
):
    Workflow.objects.filter(name="refund_claim").update(on_expiry="escalate")
    task = risky_claim(api, receiver)
    ReviewTask.objects.filter(pk=task.pk).update(escalated_at=timezone.now(), deadline=timezone.now())

    assert sweep() == {"escalated": 1, "expired": 0}

    task.refresh_from_db()
    assert task.status == "open" and task.deadline > timezone.now() + timedelta(hours=47)
    assert AuditEvent.objects.filter(action="review_task.escalated_again").count() == 1
    assert Application.objects.get(pk=task.brief["application_id"]).status == "in_review" and not receiver.calls
