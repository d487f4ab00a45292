"""Presence: desk sockets send heartbeats; a silent desk goes away, then offline, and an
offline agent's conversations go back to the queue after the inbox's grace period. The
sweep runs in the real Celery worker, as beat runs it."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import timezone

from conversations.models import AuditEvent, Conversation
from reviews import services, tasks
from reviews.models import HumanAgent
from tests.conftest import seen_all
from tests.reviews.sockets import desk_socket, frames

pytestmark = pytest.mark.django_db(transaction=True)

S = Conversation.Status


def sweep() -> dict:
    return tasks.presence_sweep.delay().get(timeout=30)


def silent_for(user, seconds: float) -> None:
    """As if the agent's last heartbeat was `seconds` ago."""
    HumanAgent.objects.filter(user=user).update(last_seen_at=timezone.now() - timedelta(seconds=seconds))


def test_heartbeat_loss_requeues_the_agents_conversations_after_the_inbox_grace(live_worker, ana, ben, inbox, handover):
    inbox.offline_grace_seconds = 120
    inbox.save()
    ana_desk, ben_desk = desk_socket(ana), desk_socket(ben)

    async def ana_works_then_closes_the_tab():
        assert (await ana_desk.connect())[0]
        await ana_desk.send_json_to({"type": "heartbeat"})
        await ana_desk.receive_nothing(timeout=0.2)
        await ana_desk.disconnect()

    async_to_sync(ana_works_then_closes_the_tab)()
    services.handover_claim(ana, handover.pk)
    assert HumanAgent.objects.get(user=ana).status == "online"

    silent_for(ana, settings.DESK_OFFLINE_AFTER_SECONDS + 1)
    assert sweep() == {"away": 1, "offline": 1, "requeued": 0}, "within the grace period she keeps it"
    assert Conversation.objects.get(pk=handover.pk).assignee == ana

    HumanAgent.objects.filter(user=ana).update(offline_since=timezone.now() - timedelta(seconds=121))

    async def grace_ends():
        assert (await ben_desk.connect())[0]
        assert sweep()["requeued"] == 1
        assert f'id="queue-{handover.pk}" class' in await frames(ben_desk, f'id="queue-{handover.pk}" class')
        await ben_desk.disconnect()

    async_to_sync(grace_ends)()
    conversation = Conversation.objects.get(pk=handover.pk)
    assert (conversation.status, conversation.assignee) == (S.PENDING_HUMAN, None)
    event = AuditEvent.objects.get(action="conversation.requeued_agent_offline")
    assert (event.actor_label, event.before["assignee"]) == ("system", ana.pk)
    ana_agent = HumanAgent.objects.get(user=ana)
    presence = AuditEvent.objects.filter(action="human_agent.presence", target_id=str(ana_agent.pk))
    presence = presence.values_list("after", flat=True)
    assert [after["status"] for after in presence.order_by("id")][-2:] == ["away", "offline"]


def test_a_desk_that_keeps_sending_heartbeats_stays_online(live_worker, ana):
    services.human_agent_heartbeat(ana)
    silent_for(ana, settings.DESK_AWAY_AFTER_SECONDS - 5)

    assert sweep() == {"away": 0, "offline": 0, "requeued": 0}
    assert HumanAgent.objects.get(user=ana).status == "online"


def test_an_away_agent_whose_desk_comes_back_is_online_again_and_keeps_their_conversations(ana, handover):
    services.human_agent_heartbeat(ana)
    services.handover_claim(ana, handover.pk)
    silent_for(ana, settings.DESK_AWAY_AFTER_SECONDS + 1)
    services.presence_sweep()
    assert HumanAgent.objects.get(user=ana).status == "away"

    services.human_agent_heartbeat(ana)

    assert HumanAgent.objects.get(user=ana).status == "online"
    assert Conversation.objects.get(pk=handover.pk).assignee == ana


def test_a_status_the_agent_chose_is_not_overruled_by_heartbeats(ana):
    services.human_agent_set_status(ana, "away")

    services.human_agent_heartbeat(ana)

    assert HumanAgent.objects.get(user=ana).status == "away"
    services.human_agent_set_status(ana, "online")
    assert HumanAgent.objects.get(user=ana).status == "online"


def test_an_agent_who_signs_off_hands_their_conversations_back_after_the_grace(ana, inbox, handover):
    inbox.offline_grace_seconds = 0
    inbox.save()
    services.handover_claim(ana, handover.pk)
    services.human_agent_set_status(ana, "offline")

    services.presence_sweep(now=timezone.now() + timedelta(seconds=1))

    assert Conversation.objects.get(pk=handover.pk).status == S.PENDING_HUMAN


def test_a_conversation_resolved_before_the_grace_ends_is_left_alone(ana, inbox, handover):
    inbox.offline_grace_seconds = 0
    inbox.save()
    services.handover_claim(ana, handover.pk)
    services.human_agent_set_status(ana, "offline")
    services.handover_resolve(ana, handover.pk, seen_through=seen_all(handover.pk))

    assert services.presence_sweep(now=timezone.now() + timedelta(seconds=1))["requeued"] == 0
    assert Conversation.objects.get(pk=handover.pk).status == S.RESOLVED
