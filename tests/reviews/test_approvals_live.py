"""Decisions resume runs through the real Celery worker: once committed, a decision sends the
resume; a worker killed after the decision and before the tool call still refunds exactly once;
and beat's deadline sweep escalates and applies each tool's expiry policy."""

import os
import signal
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from agents.models import DemoOrder, PipelineRun, Tool, ToolCall
from conversations import services
from conversations.models import Conversation, Message
from hilconsole.celery import app as celery_app
from reviews import review_tasks
from reviews.models import ReviewTask
from reviews.review_tasks import tool_approvers_grant
from reviews.services import inbox_grant
from tests.conftest import worker_children
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
S = Conversation.Status


@pytest.fixture
def rita(reviewer, live_support_inbox, demo_orders_committed, live_server_url):
    inbox_grant(reviewer, live_support_inbox)
    tool_approvers_grant(reviewer, "request_refund")
    return reviewer


def refund_waiting(live_support_inbox) -> ReviewTask:
    """A customer asks for a refund through the widget's service; the worker pauses the run."""
    # Ana, signed in on the shop: the tools act for the customer of order 100234 only.
    ana = "shop-ana"  # the demo shop's id of her account
    conversation, _, _ = services.conversation_open(
        live_support_inbox,
        name="Ana",
        identifier=ana,
        identifier_hash=live_support_inbox.identifier_hash(ana),
        email="ana.silva@demo.example",
    )
    services.message_post_from_customer(
        conversation.pk, content="I want a refund of €20 for order 100234, it arrived broken", client_message_id="c-1"
    )
    wait_until(lambda: ReviewTask.objects.filter(status="open").exists(), "the review task to open")
    return ReviewTask.objects.get()


def refunded() -> Decimal:
    return DemoOrder.objects.get(number="100234").refunded_amount


def last_words(task: ReviewTask) -> str:
    return Message.objects.filter(conversation_id=task.conversation_id).order_by("pk").last().content


def test_an_approval_resumes_the_run_on_the_worker(live_worker, rita, live_support_inbox):
    task = refund_waiting(live_support_inbox)

    review_tasks.review_task_decide(rita, task.pk, "approve")

    wait_until(lambda: Conversation.objects.get(pk=task.conversation_id).status == S.FINISHED, "the resumed reply")
    assert refunded() == Decimal("20.00") and "20" in last_words(task)


def test_a_worker_killed_after_the_decision_and_before_the_tool_call_refunds_exactly_once(
    live_worker, rita, live_support_inbox
):
    task = refund_waiting(live_support_inbox)
    conversation_row_held, release = threading.Event(), threading.Event()

    def hold_the_conversation_row():
        # The resumed turn locks the conversation row before it goes on: holding the row keeps
        # the worker inside the task, after the decision and before any tool call.
        with transaction.atomic():
            Conversation.objects.select_for_update().get(pk=task.conversation_id)
            conversation_row_held.set()
            release.wait(60)
        connection.close()

    holder = threading.Thread(target=hold_the_conversation_row)
    holder.start()
    assert conversation_row_held.wait(10)
    review_tasks.review_task_decide(rita, task.pk, "approve")
    wait_until(_worker_waits_on_the_row, "the worker to be inside the resumed turn")

    for pid in worker_children(live_worker):
        os.kill(pid, signal.SIGKILL)
    release.set()
    holder.join(10)

    wait_until(lambda: Conversation.objects.get(pk=task.conversation_id).status == S.FINISHED, "the redelivered turn")
    assert refunded() == Decimal("20.00")
    (call,) = ToolCall.objects.all()
    assert (call.idempotency_key, call.attempts) == (task.idempotency_key, 1)
    assert Message.objects.filter(conversation_id=task.conversation_id, sender="ai").count() == 2  # holding, reply


def _worker_waits_on_the_row() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def overdue(task: ReviewTask) -> None:
    ReviewTask.objects.filter(pk=task.pk).update(deadline=timezone.now() - timedelta(seconds=1))


def sweep() -> dict:
    return celery_app.send_task("reviews.review_deadline_sweep").get(timeout=30)


def test_beat_escalates_an_undecided_task(live_worker, rita, live_support_inbox):
    task = refund_waiting(live_support_inbox)
    ReviewTask.objects.filter(pk=task.pk).update(escalate_at=timezone.now() - timedelta(seconds=1))

    assert sweep() == {"escalated": 1, "expired": 0}
    assert sweep() == {"escalated": 0, "expired": 0}  # once

    task.refresh_from_db()
    assert task.escalated_at is not None and task.status == "open"


def test_at_the_deadline_the_default_policy_rejects_and_the_ai_tells_the_customer(
    live_worker, rita, live_support_inbox
):
    task = refund_waiting(live_support_inbox)
    overdue(task)

    assert sweep()["expired"] == 1

    wait_until(lambda: Conversation.objects.get(pk=task.conversation_id).status == S.FINISHED, "the AI's answer")
    assert "no reviewer decided in time" in last_words(task).lower() or "before the deadline" in last_words(task)
    assert ReviewTask.objects.get().status == "expired" and refunded() == 0 and not ToolCall.objects.exists()


def test_at_the_deadline_a_hand_over_policy_gives_the_conversation_to_people(live_worker, rita, live_support_inbox):
    Tool.objects.filter(name="request_refund").update(on_expiry="hand_over")
    task = refund_waiting(live_support_inbox)
    overdue(task)

    assert sweep()["expired"] == 1

    wait_until(lambda: Conversation.objects.get(pk=task.conversation_id).status == S.PENDING_HUMAN, "the handover")
    conversation = Conversation.objects.get(pk=task.conversation_id)
    assert conversation.handover_reason == "Nobody decided on the AI's action in time"
    assert PipelineRun.objects.get().status == "handed_over" and refunded() == 0
