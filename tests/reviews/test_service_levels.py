"""Service levels: an unclaimed handover past its inbox's threshold is escalated (priority
raised, highlighted) and its supervisors are told on their desk. The sweep runs in the real
Celery worker, as beat runs it; the schedules themselves live in django-celery-beat's tables."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from conversations.models import AuditEvent, Conversation
from reviews import tasks
from reviews.schedules import SCHEDULES
from tests.reviews.sockets import desk_socket, frames


def waited(conversation, seconds: float) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(pending_human_at=timezone.now() - timedelta(seconds=seconds))


@pytest.mark.django_db(transaction=True)
def test_an_overdue_handover_is_escalated_once_and_supervisors_are_told(live_worker, ana, sue, inbox, handover):
    inbox.sla_claim_seconds = 60
    inbox.save()
    waited(handover, 61)
    ana_desk, sue_desk = desk_socket(ana), desk_socket(sue)

    async def scenario():
        for desk in (ana_desk, sue_desk):
            assert (await desk.connect())[0]
        assert tasks.sla_sweep.delay().get(timeout=30) == [handover.pk]
        on_sue = await frames(sue_desk, f'id="escalation-{handover.pk}"')
        assert "has waited longer than 60 s in Shop" in on_sue and "afterbegin:#escalation-list" in on_sue
        on_ana = await frames(ana_desk, f'id="queue-{handover.pk}" class')
        assert "Escalated" in on_ana
        assert await ana_desk.receive_nothing(timeout=0.3), "an agent gets the highlighted row, not the notice"
        assert tasks.sla_sweep.delay().get(timeout=30) == []
        for desk in (ana_desk, sue_desk):
            await desk.disconnect()

    async_to_sync(scenario)()
    conversation = Conversation.objects.get(pk=handover.pk)
    assert conversation.priority == Conversation.Priority.HIGH and conversation.escalated_at
    assert AuditEvent.objects.filter(action="conversation.escalated").count() == 1


@pytest.mark.django_db
def test_a_handover_within_its_threshold_is_not_escalated(inbox, handover):
    from reviews.services import sla_sweep

    inbox.sla_claim_seconds = 60
    inbox.save()
    waited(handover, 50)

    assert sla_sweep() == []


@pytest.mark.django_db
def test_the_supervisors_desk_lists_the_escalations_still_waiting(client, sue, inbox, handover):
    from reviews.services import sla_sweep

    waited(handover, inbox.sla_claim_seconds + 1)
    sla_sweep()
    client.force_login(sue)

    page = client.get("/desk/").content.decode()

    assert f'id="escalation-{handover.pk}"' in page and "Escalated" in page


@pytest.mark.django_db
def test_the_desk_schedules_are_installed_in_celery_beat_and_restored_by_the_command():
    assert set(PeriodicTask.objects.filter(name__in=SCHEDULES).values_list("task", flat=True)) == {
        "reviews.presence_sweep",
        "reviews.sla_sweep",
        "reviews.assignment_sweep",
        "reviews.review_deadline_sweep",
    }
    PeriodicTask.objects.filter(name__in=SCHEDULES).delete()

    call_command("install_schedules", stdout=None)

    assert PeriodicTask.objects.filter(name__in=SCHEDULES, enabled=True, interval__every=15).count() == 2
