"""Auto-assignment per inbox: off, round robin, or balanced (fewest open conversations), only
among online agents with the skills and free capacity; on every new handover and whenever an
agent frees capacity or comes online."""

import pytest

from conversations.models import AuditEvent, Conversation
from reviews import services
from reviews.models import HumanAgent
from tests.conftest import seen_all
from tests.processes import wait_until
from tests.reviews.conftest import hand_over

S = Conversation.Status


@pytest.fixture
def both_online(ana, ben):
    for agent in (ana, ben):
        services.human_agent_heartbeat(agent)
    return ana, ben


def with_mode(inbox, mode):
    inbox.auto_assignment = mode
    inbox.save()
    return inbox


def assignee_of(conversation):
    return Conversation.objects.get(pk=conversation.pk).assignee


@pytest.mark.django_db
def test_round_robin_takes_turns_starting_with_whoever_waited_longest(both_online, inbox):
    ana, ben = both_online
    with_mode(inbox, "round_robin")
    services.handover_claim(ben, hand_over(inbox).pk)  # ben just had one; ana is next

    handovers = [hand_over(inbox) for _ in range(3)]
    assigned = [services.handover_auto_assign(conversation.pk) for conversation in handovers]

    assert assigned == [ana, ben, ana]
    assert AuditEvent.objects.filter(action="conversation.assigned", actor_label="auto-assignment").count() == 3


@pytest.mark.django_db
def test_balanced_picks_the_agent_with_the_fewest_open_conversations(both_online, inbox):
    ana, ben = both_online
    with_mode(inbox, "balanced")
    for _ in range(2):
        services.handover_claim(ana, hand_over(inbox).pk)
    services.handover_claim(ben, hand_over(inbox).pk)

    assert services.handover_auto_assign(hand_over(inbox).pk) == ben
    assert services.handover_auto_assign(hand_over(inbox).pk) in (ana, ben)


@pytest.mark.django_db
def test_only_online_agents_with_the_skills_and_room_are_chosen(both_online, inbox):
    ana, ben = both_online
    with_mode(inbox, "round_robin")
    services.human_agent_set_status(ben, "away")
    billing = hand_over(inbox, required_skills=["billing"])
    shipping = hand_over(inbox, required_skills=["shipping"])

    assert services.handover_auto_assign(shipping.pk) is None, "ben has the skill but is away"
    assert services.handover_auto_assign(billing.pk) == ana
    HumanAgent.objects.filter(user=ana).update(max_concurrent=1)
    assert services.handover_auto_assign(hand_over(inbox).pk) is None, "ana is full"


@pytest.mark.django_db
def test_with_auto_assignment_off_handovers_wait_to_be_claimed(both_online, inbox):
    assert services.handover_auto_assign(hand_over(inbox).pk) is None


@pytest.mark.django_db
def test_freed_capacity_takes_the_most_urgent_waiting_handover(both_online, inbox):
    ana, ben = both_online
    services.human_agent_set_status(ben, "away")
    HumanAgent.objects.filter(user=ana).update(max_concurrent=1)
    mine = hand_over(inbox)
    services.handover_claim(ana, mine.pk)
    with_mode(inbox, "round_robin")
    normal = hand_over(inbox)
    urgent = hand_over(inbox, priority=Conversation.Priority.URGENT)
    services.handover_resolve(ana, mine.pk, seen_through=seen_all(mine.pk))

    assert services.assign_waiting(inbox.pk) == 1
    assert (assignee_of(urgent), assignee_of(normal)) == (ana, None)


@pytest.mark.django_db(transaction=True)
def test_a_new_handover_is_assigned_by_the_worker_the_moment_it_is_queued(live_worker, both_online, inbox):
    with_mode(inbox, "balanced")

    conversation = hand_over(inbox)

    wait_until(lambda: assignee_of(conversation) is not None, "the worker to assign the handover", timeout=20)
    assert Conversation.objects.get(pk=conversation.pk).status == S.HUMAN_ACTIVE


@pytest.mark.django_db(transaction=True)
def test_an_agent_coming_online_is_given_the_handovers_that_waited(live_worker, ana, inbox):
    with_mode(inbox, "round_robin")
    conversation = hand_over(inbox)
    assert assignee_of(conversation) is None, "nobody was online"

    services.human_agent_heartbeat(ana)

    wait_until(lambda: assignee_of(conversation) == ana, "the worker to assign it to ana", timeout=20)
