"""Claiming a handover: exactly one winner, a clear answer for everyone else, capacity kept."""

import logging
import random
import threading
from collections import Counter

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.http import Http404
from django.urls import reverse

from conversations.errors import AlreadyClaimed, IllegalTransition
from conversations.models import AuditEvent, Conversation
from reviews import services
from reviews.models import HumanAgent
from reviews.roles import SUPPORT_AGENT
from tests.conftest import person, seen_all
from tests.reviews.conftest import hand_over

S = Conversation.Status


def test_an_agent_claims_a_waiting_handover_and_it_is_theirs(ana, handover):
    services.handover_claim(ana, handover.pk)

    handover.refresh_from_db()
    assert (handover.status, handover.assignee) == (S.HUMAN_ACTIVE, ana)
    event = AuditEvent.objects.get(action="conversation.claimed")
    assert (event.actor, event.target_id) == (ana, str(handover.pk))


def test_second_claim_is_refused_with_the_owners_name(ana, ben, handover):
    services.handover_claim(ana, handover.pk)

    with pytest.raises(AlreadyClaimed, match="Already claimed by Ana"):
        services.handover_claim(ben, handover.pk)
    assert Conversation.objects.get(pk=handover.pk).assignee == ana


def test_claiming_your_own_conversation_again_says_you_have_it(ana, handover):
    services.handover_claim(ana, handover.pk)

    with pytest.raises(AlreadyClaimed, match="You already have this conversation"):
        services.handover_claim(ana, handover.pk)


def test_an_agent_at_capacity_cannot_claim_and_is_told_why(ana, inbox):
    waiting = [hand_over(inbox, name=f"Customer {n}") for n in range(4)]
    for conversation in waiting[:3]:
        services.handover_claim(ana, conversation.pk)

    with pytest.raises(services.AtCapacity, match="already have 3 open conversations, your limit"):
        services.handover_claim(ana, waiting[3].pk)
    assert Conversation.objects.get(pk=waiting[3].pk).status == S.PENDING_HUMAN


def test_a_handover_needing_skills_the_agent_lacks_is_refused(ben, inbox):
    billing = hand_over(inbox, required_skills=["billing"])

    with pytest.raises(services.MissingSkills, match="needs the skills billing"):
        services.handover_claim(ben, billing.pk)


def test_a_supervisor_may_claim_whatever_the_skills(sue, inbox):
    billing = hand_over(inbox, required_skills=["billing"])

    services.handover_claim(sue, billing.pk)

    assert Conversation.objects.get(pk=billing.pk).assignee == sue


def test_a_conversation_no_longer_waiting_cannot_be_claimed(ana, ben, handover):
    services.handover_claim(ana, handover.pk)
    services.handover_resolve(ana, handover.pk, seen_through=seen_all(handover.pk))

    with pytest.raises(IllegalTransition, match="no longer waiting for a human"):
        services.handover_claim(ben, handover.pk)


def test_release_puts_it_back_in_the_queue_for_anyone(ana, ben, handover):
    services.handover_claim(ana, handover.pk)

    services.handover_release(ana, handover.pk)
    services.handover_claim(ben, handover.pk)

    assert Conversation.objects.get(pk=handover.pk).assignee == ben
    assert AuditEvent.objects.filter(action="conversation.released", actor=ana).exists()


def test_only_the_owner_or_a_supervisor_may_release(ana, ben, sue, handover):
    services.handover_claim(ana, handover.pk)

    with pytest.raises(services.NotYours, match="Ana's"):
        services.handover_release(ben, handover.pk)
    services.handover_release(sue, handover.pk)

    assert Conversation.objects.get(pk=handover.pk).status == S.PENDING_HUMAN


def test_transfer_to_a_colleague_changes_hands_and_leaves_a_note(ana, ben, handover):
    services.handover_claim(ana, handover.pk)

    services.handover_transfer_to_agent(ana, handover.pk, ben)

    handover.refresh_from_db()
    assert (handover.status, handover.assignee) == (S.HUMAN_ACTIVE, ben)
    assert handover.messages.filter(sender="note", content="Ana transferred this conversation to Ben.").exists()
    event = AuditEvent.objects.get(action="conversation.transferred")
    assert (event.before, event.after) == ({"assignee": ana.pk}, {"assignee": ben.pk})


def test_transfer_to_someone_outside_the_inbox_is_not_found_and_does_not_name_them(ana, sam, handover):
    services.handover_claim(ana, handover.pk)

    with pytest.raises(services.NoSuchColleague) as refusal:
        services.handover_transfer_to_agent(ana, handover.pk, sam)
    assert (refusal.value.status, refusal.value.message) == (404, "No such colleague works this inbox.")
    assert Conversation.objects.get(pk=handover.pk).assignee == ana


@pytest.mark.parametrize("change", ["deactivated", "no desk role"])
def test_transfer_to_a_colleague_who_left_the_desk_is_not_found(ana, ben, handover, change):
    services.handover_claim(ana, handover.pk)
    if change == "deactivated":
        ben.is_active = False
        ben.save()
    else:
        ben.groups.clear()

    with pytest.raises(services.NoSuchColleague):
        services.handover_transfer_to_agent(ana, handover.pk, ben)
    assert Conversation.objects.get(pk=handover.pk).assignee == ana


def test_transfer_to_a_colleague_at_capacity_is_refused(ana, ben, inbox):
    HumanAgent.objects.filter(user=ben).update(max_concurrent=1)
    services.handover_claim(ben, hand_over(inbox).pk)
    mine = hand_over(inbox)
    services.handover_claim(ana, mine.pk)

    with pytest.raises(services.AtCapacity, match="Ben already has 1 open conversations"):
        services.handover_transfer_to_agent(ana, mine.pk, ben)


def test_transfer_to_a_skill_requeues_it_for_that_skill(ana, ben, handover):
    services.handover_claim(ana, handover.pk)

    services.handover_transfer_to_skill(ana, handover.pk, "shipping")

    handover.refresh_from_db()
    assert (handover.status, handover.assignee, handover.required_skills) == (S.PENDING_HUMAN, None, ["shipping"])
    assert AuditEvent.objects.filter(action="conversation.transferred_to_skill").exists()
    with pytest.raises(services.MissingSkills):
        services.handover_claim(ana, handover.pk)
    services.handover_claim(ben, handover.pk)


# Who may claim, and what a claim costs ------------------------------------------------------


def test_a_team_granted_the_inbox_may_claim_its_handovers(django_user_model, inbox, handover):
    dan = person(django_user_model, "dan", SUPPORT_AGENT)
    team = Group.objects.create(name="Shop team")
    dan.groups.add(team)
    services.inbox_grant(team, inbox)

    services.handover_claim(dan, handover.pk)

    assert Conversation.objects.get(pk=handover.pk).assignee == dan


def test_a_grant_on_another_inbox_opens_nothing_here(sam, other_inbox, handover):
    services.inbox_grant(sam, other_inbox)

    with pytest.raises(Http404):
        services.handover_claim(sam, handover.pk)
    assert Conversation.objects.get(pk=handover.pk).status == S.PENDING_HUMAN


def test_an_agent_whose_account_was_deactivated_claims_nothing(ana, handover):
    ana.is_active = False
    ana.save()

    with pytest.raises(Http404):
        services.handover_claim(ana, handover.pk)


def test_a_superuser_may_claim_in_any_inbox_without_a_grant(site_admin, handover):
    services.handover_claim(site_admin, handover.pk)

    assert Conversation.objects.get(pk=handover.pk).assignee == site_admin


def test_claiming_a_conversation_that_does_not_exist_is_not_found(ana):
    with pytest.raises(Http404):
        services.handover_claim(ana, 999_999)


@pytest.mark.parametrize(
    "display_name, first_name, told",
    [("Ana at the shop", "Ana", "Ana at the shop"), ("", "Ana", "Ana"), ("", "", "ana")],
)
def test_the_loser_is_told_the_winners_desk_name_else_first_name_else_username(
    ana, ben, handover, display_name, first_name, told
):
    HumanAgent.objects.filter(user=ana).update(display_name=display_name)
    type(ana).objects.filter(pk=ana.pk).update(first_name=first_name)
    services.handover_claim(ana, handover.pk)

    with pytest.raises(AlreadyClaimed, match=f"Already claimed by {told}[.]"):
        services.handover_claim(ben, handover.pk)


def test_a_handover_needing_skills_names_them_when_read_back_from_the_database(ben, inbox):
    waiting = hand_over(inbox, required_skills=["returns", "billing"])

    with pytest.raises(services.MissingSkills, match="needs the skills billing, returns,"):
        services.handover_claim(ben, waiting.pk)


def test_a_lost_claim_reads_three_times_and_a_won_claim_writes_in_one_transaction(
    client, ana, ben, handover, django_assert_num_queries
):
    """Session, user with their desk roles, then the handover with the inbox grant: every loser
    of a rush asks this much and no more. The winner then locks their profile, counts their open
    conversations, locks, moves and audits the conversation (in its own savepoint) and stamps
    their last assignment: 13 with BEGIN, SAVEPOINT, RELEASE and COMMIT. A browser's POST
    carries its Origin, which costs nothing outside the widget API. Each count has one more
    read here, as the tests read guardian's content type afresh (tests/content_types.py)."""
    browser = {"HTTP_HX_REQUEST": "true", "HTTP_ORIGIN": "http://testserver"}
    client.force_login(ana)
    with django_assert_num_queries(13 + 1):
        assert client.post(reverse("desk:claim", args=[handover.pk]), **browser).status_code == 200
    client.force_login(ben)
    with django_assert_num_queries(3 + 1):
        assert client.post(reverse("desk:claim", args=[handover.pk]), **browser).status_code == 409


def test_a_lost_claim_is_not_a_warning_in_the_log_but_a_claim_outside_the_inbox_is(
    client, ana, ben, sam, handover, caplog
):
    """Every loser of a rush is told who won; the log keeps what an operator may act on."""
    browser = {"HTTP_HX_REQUEST": "true", "HTTP_ORIGIN": "http://testserver"}
    services.handover_claim(ana, handover.pk)
    client.force_login(ben)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        lost = client.post(reverse("desk:claim", args=[handover.pk]), **browser)
        client.force_login(sam)
        outside = client.post(reverse("desk:claim", args=[handover.pk]), **browser)

    assert (lost.status_code, outside.status_code) == (409, 404)
    assert "Already claimed by Ana" in lost.content.decode()
    logged = [(record.levelname, record.status_code) for record in caplog.records if record.name == "django.request"]
    assert logged == [("WARNING", 404)]


# The race ----------------------------------------------------------------------------------

AGENTS = 32
HANDOVERS = 200
CAPACITY = 8  # 32 × 8 = 256 seats for 200 handovers: some agents fill up mid-race


@pytest.fixture
def pool_for_every_agent():
    """A connection pool with a connection per racing thread (the default holds 20)."""
    options = connection.settings_dict["OPTIONS"]
    if "pool" not in options:
        yield
        return
    default = options["pool"]
    connection.close()
    connection.close_pool()
    options["pool"] = {**default, "max_size": AGENTS + 4}
    yield
    connection.close()
    connection.close_pool()
    options["pool"] = default


@pytest.mark.django_db(transaction=True)
def test_32_agents_racing_for_the_same_200_handovers_each_get_exactly_one_owner(
    django_user_model, inbox, pool_for_every_agent
):
    agents = [person(django_user_model, f"agent{n:02}", SUPPORT_AGENT) for n in range(AGENTS)]
    for agent in agents:
        services.human_agent_profile_ensure(agent, skills=[], max_concurrent=CAPACITY)
        services.inbox_grant(agent, inbox)
    handover_ids = [hand_over(inbox, name=f"Customer {n}", text="").pk for n in range(HANDOVERS)]
    outcomes = {agent.pk: [] for agent in agents}
    barrier = threading.Barrier(AGENTS)

    def claim_everything(agent):
        order = random.Random(agent.pk).sample(handover_ids, len(handover_ids))
        barrier.wait()
        try:
            for conversation_id in order:
                try:
                    services.handover_claim(agent, conversation_id)
                    outcomes[agent.pk].append((conversation_id, "won", ""))
                except AlreadyClaimed as refusal:
                    outcomes[agent.pk].append((conversation_id, "already claimed", refusal.message))
                except services.AtCapacity:
                    outcomes[agent.pk].append((conversation_id, "at capacity", ""))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim_everything, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    owners = dict(Conversation.objects.filter(pk__in=handover_ids).values_list("pk", "assignee_id"))
    wins = Counter(cid for results in outcomes.values() for cid, outcome, _ in results if outcome == "won")
    assert all(owner is not None for owner in owners.values())
    assert set(wins) == set(handover_ids) and set(wins.values()) == {1}
    for agent_id, results in outcomes.items():
        assert sum(1 for _, outcome, _ in results if outcome == "won") <= CAPACITY
        assert all(owners[cid] == agent_id for cid, outcome, _ in results if outcome == "won")
        names = {agent.pk: agent.first_name for agent in agents}
        for cid, outcome, message in results:
            if outcome == "already claimed":
                assert message == f"Already claimed by {names[owners[cid]]}."
    claimed = Counter(
        AuditEvent.objects.filter(action="conversation.claimed").values_list("target_id", flat=True)
    )  # fmt: skip
    assert len(claimed) == HANDOVERS and set(claimed.values()) == {1}
