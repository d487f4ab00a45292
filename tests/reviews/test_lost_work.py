"""No customer message is left behind on the desk: a resolve that would drop an unseen message,
actions of an agent whose conversation changed hands, a release bouncing straight back, an agent
away by choice who closed the desk, assignment requests lost after commit, and desks that missed
an event."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from conversations import services as conversations
from conversations.errors import IllegalTransition
from conversations.models import Conversation, Message
from hilconsole.celery import app as celery_app
from reviews import services
from reviews.models import HumanAgent
from tests.conftest import seen_all
from tests.reviews.conftest import hand_over

S = Conversation.Status
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, conversation):
    return f"/desk/conversations/{conversation.pk}/{name.replace('_', '-')}/"


def reloaded(conversation) -> Conversation:
    return Conversation.objects.get(pk=conversation.pk)


@pytest.fixture
def claimed(ana, handover):
    services.handover_claim(ana, handover.pk)
    return handover


# A message just before Resolve -------------------------------------------------------------


@pytest.mark.django_db
def test_resolve_is_refused_when_the_customer_wrote_after_what_the_agent_saw(client, ana, claimed):
    seen = seen_all(claimed.pk)
    conversations.message_post_from_customer(claimed.pk, content="thanks! also…", client_message_id="late")
    client.force_login(ana)

    response = client.post(url("resolve", claimed), {"seen_through": seen}, **HTMX)

    assert response.status_code == 409
    assert "1 new message you have not seen" in response.content.decode()
    assert reloaded(claimed).status == S.HUMAN_ACTIVE


@pytest.mark.django_db
def test_resolve_after_reading_everything_closes_and_the_ai_does_not_answer_old_lines_on_reopen(ana, claimed):
    conversations.message_post_from_customer(claimed.pk, content="Perfect, thanks!", client_message_id="thanks")
    services.handover_resolve(ana, claimed.pk, seen_through=seen_all(claimed.pk))
    from agents.pipelines.turns import waiting_messages

    conversations.message_post_from_customer(
        claimed.pk, content="One more question", client_message_id="again", request_ai_turn=False
    )

    conversation = reloaded(claimed)
    assert conversation.status == S.NEW
    assert [message.content for message in waiting_messages(conversation)] == ["One more question"]


@pytest.mark.django_db
def test_resolve_without_saying_what_was_seen_is_a_form_error(client, ana, claimed):
    client.force_login(ana)

    response = client.post(url("resolve", claimed), {"seen_through": "lots"}, **HTMX)

    assert response.status_code == 400 and reloaded(claimed).status == S.HUMAN_ACTIVE


# Stale ownership ---------------------------------------------------------------------------


@pytest.fixture
def transferred_behind_anas_back(ana, ben, claimed, sue):
    """Ana's page shows her conversation; meanwhile her supervisor gave it to Ben."""
    services.handover_transfer_to_agent(sue, claimed.pk, ben)
    return claimed


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["reply", "resolve", "release", "return_to_ai"])
def test_an_action_on_a_conversation_that_changed_hands_is_refused_and_says_who_has_it(
    client, sue, transferred_behind_anas_back, action
):
    conversation = transferred_behind_anas_back
    client.force_login(sue)  # a supervisor may act on any conversation: the page's owner decides
    seen_owner = conversation.assignee_id  # Ana, as her page showed it

    with pytest.raises(IllegalTransition, match="now with Ben"):
        if action == "reply":
            conversations.message_post_from_human(conversation.pk, agent=sue, content="Hi", assignee_id=seen_owner)
        elif action == "resolve":
            conversations.conversation_resolve(
                conversation.pk, agent=sue, seen_through=seen_all(conversation.pk), assignee_id=seen_owner
            )
        elif action == "release":
            conversations.conversation_release(conversation.pk, agent=sue, assignee_id=seen_owner)
        else:
            conversations.conversation_return_to_ai(conversation.pk, agent=sue, assignee_id=seen_owner)

    now = reloaded(conversation)
    assert (now.status, now.assignee.username) == (S.HUMAN_ACTIVE, "ben")
    assert not Message.objects.filter(conversation=conversation, sender=Message.Sender.HUMAN).exists()


@pytest.mark.django_db
def test_the_previous_agents_reply_after_a_transfer_is_refused_on_the_desk(client, ana, transferred_behind_anas_back):
    client.force_login(ana)

    response = client.post(url("reply", transferred_behind_anas_back), {"content": "Still me!"}, **HTMX)

    assert response.status_code in (403, 409) and "Ben" in response.content.decode()
    assert not Message.objects.filter(sender=Message.Sender.HUMAN).exists()


# Release does not bounce back --------------------------------------------------------------


@pytest.fixture
def round_robin(inbox):
    inbox.auto_assignment = "round_robin"
    inbox.save()
    return inbox


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["round_robin", "balanced"])
def test_a_released_conversation_is_not_assigned_straight_back_to_whoever_released_it(ana, inbox, mode):
    inbox.auto_assignment = mode
    inbox.save()
    services.human_agent_heartbeat(ana)  # the only agent online
    conversation = hand_over(inbox)
    assert services.handover_auto_assign(conversation.pk) == ana

    services.handover_release(ana, conversation.pk)

    assert services.handover_auto_assign(conversation.pk) is None
    assert services.assign_waiting(inbox.pk) == 0
    assert reloaded(conversation).status == S.PENDING_HUMAN


@pytest.mark.django_db
def test_a_released_conversation_goes_to_a_colleague(ana, ben, round_robin):
    for agent in (ana, ben):
        services.human_agent_heartbeat(agent)
    conversation = hand_over(round_robin)
    services.handover_claim(ana, conversation.pk)

    services.handover_release(ana, conversation.pk)

    assert services.handover_auto_assign(conversation.pk) == ben


# Away by choice, desk closed ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_agent_away_by_choice_whose_desk_closed_loses_their_conversations_after_the_grace(
    live_worker, ana, inbox, handover
):
    services.human_agent_heartbeat(ana)
    services.handover_claim(ana, handover.pk)
    services.human_agent_set_status(ana, "away")
    # The desk was closed long ago: no heartbeat since.
    gone_since = timezone.now() - timedelta(seconds=settings.DESK_OFFLINE_AFTER_SECONDS + 1)
    HumanAgent.objects.filter(user=ana).update(last_seen_at=gone_since)

    assert celery_app.send_task("reviews.presence_sweep").get(timeout=30)["offline"] == 1
    HumanAgent.objects.filter(user=ana).update(offline_since=timezone.now() - timedelta(hours=1))
    assert celery_app.send_task("reviews.presence_sweep").get(timeout=30)["requeued"] == 1

    assert (reloaded(handover).status, reloaded(handover).assignee) == (S.PENDING_HUMAN, None)
    services.human_agent_heartbeat(ana)  # opening the desk again brings her back
    assert HumanAgent.objects.get(user=ana).status == "online"


@pytest.mark.django_db
def test_an_agent_away_by_choice_with_the_desk_open_keeps_their_conversations(ana, handover):
    services.human_agent_heartbeat(ana)
    services.handover_claim(ana, handover.pk)
    services.human_agent_set_status(ana, "away")
    services.human_agent_heartbeat(ana)  # the desk is open

    assert services.presence_sweep()["offline"] == 0
    assert reloaded(handover).assignee == ana


# Lost after-commit work --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_beat_assigns_a_handover_whose_assignment_request_was_lost(live_worker, ana, inbox):
    services.human_agent_heartbeat(ana)
    conversation = hand_over(inbox)  # queued while the inbox did not auto-assign: no request sent
    inbox.auto_assignment = "round_robin"
    inbox.save()
    Conversation.objects.filter(pk=conversation.pk).update(
        pending_human_at=timezone.now() - timedelta(seconds=settings.DESK_ASSIGNMENT_RETRY_SECONDS + 1)
    )

    assigned = celery_app.send_task("reviews.assignment_sweep").get(timeout=30)

    assert assigned == 1 and reloaded(conversation).assignee == ana


@pytest.mark.django_db(transaction=True)
def test_a_broker_error_after_commit_neither_fails_the_handover_nor_silences_the_desks(round_robin, monkeypatch):
    sent = []
    monkeypatch.setattr("hilconsole.broadcast.broadcast_now", lambda group, event: sent.append(event["type"]))

    def broker_down(*args, **kwargs):
        raise ConnectionError("the broker is down")

    monkeypatch.setattr(celery_app, "send_task", broker_down)

    conversation = hand_over(round_robin)  # the AI's handover commits, then asks for an assignment

    assert reloaded(conversation).status == S.PENDING_HUMAN
    assert "desk.conversation" in sent


# Desks catch up ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_desk_lists_are_rendered_whole_for_a_desk_that_missed_events(client, ana, handover, other_inbox):
    elsewhere = hand_over(other_inbox, name="Elsewhere")
    client.force_login(ana)

    page = client.get("/desk/lists/", **HTMX).content.decode()

    assert '<ul id="queue-list" class="rows" hx-swap-oob="true">' in page
    assert f'id="queue-{handover.pk}"' in page and f'id="queue-{elsewhere.pk}"' not in page
    assert '<ul id="mine-list"' in page


@pytest.mark.django_db
def test_the_desk_lists_refuse_people_without_a_desk_role(client, outsider):
    client.force_login(outsider)

    assert client.get("/desk/lists/").status_code == 403


@pytest.mark.django_db
def test_a_workspace_catches_up_with_its_state_and_latest_messages(client, ana, claimed):
    conversations.message_post_from_customer(claimed.pk, content="Are you there?", client_message_id="late")
    client.force_login(ana)

    page = client.get(url("resync", claimed), **HTMX).content.decode()

    assert 'id="workspace-state"' in page and 'hx-swap-oob="true"' in page
    assert "Are you there?" in page and 'hx-swap-oob="beforeend:#transcript"' in page
    assert f'name="seen_through" value="{seen_all(claimed.pk)}"' in page


@pytest.mark.django_db
def test_a_workspace_of_another_inbox_does_not_catch_up(client, sam, claimed):
    client.force_login(sam)

    assert client.get(url("resync", claimed)).status_code == 404
