"""The desk's pages and actions: the happy path, the wrong method, people who may not, and
bad input, as plain form posts and as htmx requests."""

import pytest
from django.urls import reverse

from conversations import services as conversations
from conversations.models import Conversation, Inbox, Message
from reviews import services
from reviews.models import CannedResponse, HumanAgent
from reviews.roles import SUPPORT_AGENT
from reviews.services import human_agent_profile_ensure, inbox_grant
from tests.conftest import person, seen_all
from tests.reviews.conftest import hand_over

pytestmark = pytest.mark.django_db

S = Conversation.Status
HTMX = {"HTTP_HX_REQUEST": "true"}
SHOP = "https://shop.example"


def url(name, conversation):
    return reverse(f"desk:{name}", args=[conversation.pk])


@pytest.fixture
def claimed(ana, handover):
    services.handover_claim(ana, handover.pk)
    return Conversation.objects.get(pk=handover.pk)


# The desk page -----------------------------------------------------------------------------


def test_desk_shows_the_queue_with_the_brief_and_my_conversations(client, ana, inbox, handover):
    mine = hand_over(inbox, name="Maya")
    services.handover_claim(ana, mine.pk)
    client.force_login(ana)

    page = client.get(reverse("desk:home")).content.decode()

    assert f'id="queue-{handover.pk}"' in page and "Wants to know where the parcel is" in page
    assert "order_status" in page and "human_request" in page and "42%" in page
    assert f'id="mine-{mine.pk}"' in page and f'id="queue-{mine.pk}"' not in page
    assert 'ws-connect="/ws/desk/"' in page


def test_opening_the_desk_shows_the_agent_online(client, ana):
    HumanAgent.objects.filter(user=ana).update(status="offline")
    client.force_login(ana)

    page = client.get(reverse("desk:home")).content.decode()

    assert 'value="online" selected' in page
    assert HumanAgent.objects.get(user=ana).status == "online"


def test_queue_puts_higher_priority_first_then_the_longest_waiting(client, ana, inbox):
    first = hand_over(inbox, name="First")
    second = hand_over(inbox, name="Second")
    urgent = hand_over(inbox, name="Urgent", priority=Conversation.Priority.URGENT)
    client.force_login(ana)

    page = client.get(reverse("desk:home")).content.decode()

    positions = [page.index(f'id="queue-{c.pk}"') for c in (urgent, first, second)]
    assert positions == sorted(positions)


def test_queue_hides_handovers_needing_skills_the_agent_lacks_but_a_supervisor_sees_them(client, ben, sue, inbox):
    billing = hand_over(inbox, required_skills=["billing"])
    client.force_login(ben)
    assert f'id="queue-{billing.pk}"' not in client.get(reverse("desk:home")).content.decode()

    client.force_login(sue)
    assert f'id="queue-{billing.pk}"' in client.get(reverse("desk:home")).content.decode()


def test_an_agent_of_no_inbox_sees_an_empty_queue_and_how_to_get_one(client, sam, handover):
    client.force_login(sam)

    page = client.get(reverse("desk:home")).content.decode()

    assert f"queue-{handover.pk}" not in page
    assert "You do not work any inbox yet" in page


# Claim -------------------------------------------------------------------------------------


def test_claim_takes_the_agent_to_the_conversation(client, ana, handover):
    client.force_login(ana)

    response = client.post(url("claim", handover))

    assert response.status_code == 302 and response["Location"] == url("conversation", handover)
    assert Conversation.objects.get(pk=handover.pk).assignee == ana


def test_claim_over_htmx_redirects_with_a_header(client, ana, handover):
    client.force_login(ana)

    response = client.post(url("claim", handover), **HTMX)

    assert response.status_code == 200 and response["HX-Redirect"] == url("conversation", handover)


def test_a_late_claim_over_htmx_gets_a_notice_naming_the_winner(client, ana, ben, handover):
    services.handover_claim(ana, handover.pk)
    client.force_login(ben)

    response = client.post(url("claim", handover), **HTMX)

    assert response.status_code == 409
    assert "Already claimed by Ana." in response.content.decode()
    assert response["HX-Retarget"] == "#notices"


def test_a_late_claim_without_htmx_returns_to_the_desk_with_the_message(client, ana, ben, handover):
    services.handover_claim(ana, handover.pk)
    client.force_login(ben)

    response = client.post(url("claim", handover), follow=True)

    assert response.redirect_chain[-1][0] == url("conversation", handover)
    assert "Already claimed by Ana." in response.content.decode()


def test_claim_at_capacity_says_so_and_leaves_the_handover_waiting(client, ana, inbox):
    HumanAgent.objects.filter(user=ana).update(max_concurrent=1)
    services.handover_claim(ana, hand_over(inbox).pk)
    waiting = hand_over(inbox)
    client.force_login(ana)

    response = client.post(url("claim", waiting), **HTMX)

    assert response.status_code == 409 and "your limit" in response.content.decode()
    assert Conversation.objects.get(pk=waiting.pk).status == S.PENDING_HUMAN


@pytest.mark.parametrize("name", ["claim", "reply", "suggest", "release", "transfer", "return_to_ai", "resolve"])
def test_actions_refuse_a_get(client, ana, handover, name):
    client.force_login(ana)

    assert client.get(url(name, handover)).status_code == 405


@pytest.mark.parametrize("name", ["conversation", "earlier", "canned"])
def test_pages_refuse_a_post(client, ana, handover, name):
    client.force_login(ana)

    assert client.post(url(name, handover)).status_code == 405


@pytest.mark.parametrize("name", ["conversation", "claim", "reply", "release", "resolve", "canned"])
def test_someone_without_a_desk_role_is_forbidden(client, outsider, handover, name):
    client.force_login(outsider)

    method = client.get if name in ("conversation", "canned") else client.post
    assert method(url(name, handover)).status_code == 403


@pytest.mark.parametrize(
    "name", ["conversation", "earlier", "canned", "claim", "reply", "suggest", "release", "resolve"]
)
def test_an_agent_of_another_inbox_gets_404_and_changes_nothing(client, sam, handover, name):
    client.force_login(sam)

    method = client.get if name in ("conversation", "earlier", "canned") else client.post
    response = method(url(name, handover), {"content": "Hi", "before": 1})

    assert response.status_code == 404
    assert Conversation.objects.get(pk=handover.pk).status == S.PENDING_HUMAN
    assert not Message.objects.filter(sender__in=["human", "note"]).exists()


def test_an_anonymous_visitor_is_sent_to_sign_in(client, handover):
    response = client.get(url("conversation", handover))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_unknown_conversation_is_a_404(client, ana):
    client.force_login(ana)

    assert client.get(reverse("desk:conversation", args=[999999])).status_code == 404
    assert client.post(reverse("desk:claim", args=[999999])).status_code == 404


def test_the_desk_answers_no_other_site_not_even_a_shop_an_inbox_allows(client, ana, inbox, handover):
    """CORS is for the widget API: a desk action never tells a shop's page it may read it."""
    Inbox.objects.filter(pk=inbox.pk).update(allowed_origins=[SHOP])
    client.force_login(ana)

    page = client.get(reverse("desk:home"), HTTP_ORIGIN=SHOP)
    claim = client.post(url("claim", handover), HTTP_ORIGIN="http://testserver", **HTMX)

    assert page.status_code == 200 and "Access-Control-Allow-Origin" not in page
    assert claim.status_code == 200 and "Access-Control-Allow-Origin" not in claim


# Workspace ---------------------------------------------------------------------------------


def test_workspace_shows_transcript_brief_trace_customer_and_history(client, ana, inbox, claimed):
    conversations.message_post_from_ai(claimed.pk, content="Let me find a person for you.")
    conversations.message_post_from_human(claimed.pk, agent=ana, content="Checking with the warehouse", internal=True)
    earlier = hand_over(inbox, name="Carla")
    Conversation.objects.filter(pk=earlier.pk).update(customer=claimed.customer)
    client.force_login(ana)

    page = client.get(url("conversation", claimed)).content.decode()

    for sender in ("customer", "ai", "note"):
        assert f'data-sender="{sender}"' in page
    assert "Internal note · Ana" in page and "Checking with the warehouse" in page
    assert "Wants to know where the parcel is" in page and "42%" in page
    assert "No AI runs for this conversation" in page
    assert f"#{earlier.pk}" in page
    assert 'ws-connect="/ws/desk/conversations/' in page
    assert "Resolve and ask for a rating" in page and "Return to AI" in page


def test_workspace_of_a_waiting_handover_offers_the_claim(client, ben, handover):
    client.force_login(ben)

    page = client.get(url("conversation", handover)).content.decode()

    assert url("claim", handover) in page and "Return to AI" not in page


def test_long_transcripts_show_the_latest_page_and_load_earlier_ones(client, ana, claimed):
    for number in range(120):
        conversations.message_post_from_human(claimed.pk, agent=ana, content=f"Line {number}", internal=True)
    client.force_login(ana)

    page = client.get(url("conversation", claimed)).content.decode()
    assert "Line 119" in page and "Line 5<" not in page and "Show earlier messages" in page
    first_shown = claimed.messages.order_by("-pk")[99].pk

    earlier = client.get(url("earlier", claimed), {"before": first_shown}, **HTMX).content.decode()
    assert "Line 5<" in earlier and "Line 119" not in earlier and "Show earlier messages" not in earlier


def test_earlier_messages_need_a_message_id(client, ana, claimed):
    client.force_login(ana)

    response = client.get(url("earlier", claimed), {"before": "yesterday"}, **HTMX)

    assert response.status_code == 400 and "whole number" in response.content.decode()


# Reply -------------------------------------------------------------------------------------


def test_reply_is_stored_and_returned_as_a_transcript_line(client, ana, claimed):
    client.force_login(ana)

    response = client.post(url("reply", claimed), {"content": "Hi Carla, it ships today."}, **HTMX)

    message = Message.objects.get(sender="human")
    assert response.status_code == 200 and f'id="message-{message.pk}"' in response.content.decode()
    assert (message.content, message.author, message.author_name) == ("Hi Carla, it ships today.", ana, "Ana")
    assert Conversation.objects.get(pk=claimed.pk).first_response_at == message.created_at


def test_a_note_is_stored_as_internal(client, ana, claimed):
    client.force_login(ana)

    client.post(url("reply", claimed), {"content": "VIP customer", "internal": "1"})

    assert Message.objects.get(content="VIP customer").sender == "note"


@pytest.mark.parametrize("content, error", [("   ", "This field is required"), ("x" * 4001, "at most 4000")])
def test_an_empty_or_too_long_reply_is_refused_and_nothing_is_stored(client, ana, claimed, content, error):
    client.force_login(ana)

    response = client.post(url("reply", claimed), {"content": content}, **HTMX)

    assert response.status_code == 400 and error in response.content.decode()
    assert not Message.objects.filter(sender="human").exists()


def test_only_the_assignee_replies_to_the_customer_but_colleagues_may_leave_notes(client, ben, claimed):
    client.force_login(ben)

    refused = client.post(url("reply", claimed), {"content": "Hello"}, **HTMX)
    noted = client.post(url("reply", claimed), {"content": "I know this one", "internal": "1"}, **HTMX)

    assert refused.status_code == 403 and "Ana&#x27;s; claim it from the queue" in refused.content.decode()
    assert noted.status_code == 200
    assert list(Message.objects.filter(sender__in=["human", "note"]).values_list("content", flat=True)) == [
        "I know this one"
    ]


def test_a_reply_to_a_waiting_handover_is_refused(client, sue, handover):
    client.force_login(sue)

    response = client.post(url("reply", handover), {"content": "Hello"}, **HTMX)

    assert (
        response.status_code == 409 and "Only an active human conversation takes replies" in response.content.decode()
    )


# Canned responses --------------------------------------------------------------------------


def test_canned_responses_are_searched_and_filled_in_for_the_customer(client, ana, other_inbox, claimed):
    CannedResponse.objects.create(shortcut="hello", title="Greeting", content="Hi {name}, how can I help?")
    CannedResponse.objects.create(shortcut="refund", title="Refund timing", content="5 to 10 days.")
    CannedResponse.objects.create(shortcut="elsewhere", title="Hello there", content="x", inbox=other_inbox)
    client.force_login(ana)

    found = client.get(url("canned", claimed), {"q": "hel"}, **HTMX).content.decode()

    assert "/hello" in found and 'data-text="Hi Carla, how can I help?"' in found
    assert "/refund" not in found and "/elsewhere" not in found


def test_a_canned_search_that_finds_nothing_says_so(client, ana, claimed):
    client.force_login(ana)

    found = client.get(url("canned", claimed), {"q": "nothing"}).content.decode()

    assert "No canned response matches" in found


def test_an_over_long_canned_search_is_refused(client, ana, claimed):
    client.force_login(ana)

    assert client.get(url("canned", claimed), {"q": "x" * 61}, **HTMX).status_code == 400


# Release, transfer, return to AI, resolve --------------------------------------------------


def test_release_returns_to_the_desk_and_requeues(client, ana, claimed):
    client.force_login(ana)

    response = client.post(url("release", claimed), **HTMX)

    assert response["HX-Redirect"] == reverse("desk:home")
    assert Conversation.objects.get(pk=claimed.pk).status == S.PENDING_HUMAN


def test_transfer_to_a_colleague_by_form(client, ana, ben, claimed):
    client.force_login(ana)

    response = client.post(url("transfer", claimed), {"to_agent": ben.pk}, follow=True)

    assert "Transferred to Ben." in response.content.decode()
    assert Conversation.objects.get(pk=claimed.pk).assignee == ben


def test_transfer_to_a_skill_by_form(client, ana, ben, claimed):
    client.force_login(ana)

    client.post(url("transfer", claimed), {"to_skill": "shipping"})

    assert Conversation.objects.get(pk=claimed.pk).required_skills == ["shipping"]


@pytest.mark.parametrize(
    "form, status, error",
    [
        ({}, 400, "Choose a colleague or a skill"),
        ({"to_agent": "1", "to_skill": "shipping"}, 400, "Choose a colleague or a skill"),
        ({"to_skill": "juggling"}, 400, "No agent has the skill juggling"),
        ({"to_agent": "999999"}, 404, "No such colleague works this inbox."),
        ({"to_agent": "abc"}, 400, "whole number"),
    ],
)
def test_a_transfer_with_bad_input_is_refused_and_changes_nothing(client, ana, ben, claimed, form, status, error):
    client.force_login(ana)

    response = client.post(url("transfer", claimed), form, **HTMX)

    assert response.status_code == status and error in response.content.decode()
    assert Conversation.objects.get(pk=claimed.pk).assignee == ana


def test_a_transfer_to_someone_outside_the_inbox_is_not_found_without_their_name(client, ana, sam, claimed):
    client.force_login(ana)

    response = client.post(url("transfer", claimed), {"to_agent": sam.pk}, **HTMX)

    assert response.status_code == 404
    assert "No such colleague works this inbox." in response.content.decode()
    assert "Sam" not in response.content.decode()
    assert Conversation.objects.get(pk=claimed.pk).assignee == ana


def test_the_transfer_list_shows_only_colleagues_still_on_the_desk(client, ana, ben, claimed, django_user_model):
    gone = person(django_user_model, "gina", SUPPORT_AGENT, is_active=False)
    no_role = person(django_user_model, "nora")
    for user in (gone, no_role):
        human_agent_profile_ensure(user, skills=[])
        inbox_grant(user, claimed.inbox)
    client.force_login(ana)

    page = client.get(url("conversation", claimed)).content.decode()

    assert f'value="{ben.pk}"' in page
    assert "Gina" not in page and "Nora" not in page


def test_return_to_ai_hands_the_conversation_back(client, ana, claimed):
    client.force_login(ana)

    response = client.post(url("return_to_ai", claimed), follow=True)

    assert "Returned to the AI" in response.content.decode()
    conversation = Conversation.objects.get(pk=claimed.pk)
    assert (conversation.status, conversation.assignee) == (S.BACK_TO_AI, None)


def test_resolve_records_the_resolution_and_says_the_customer_is_asked_for_a_rating(client, ana, claimed):
    client.force_login(ana)

    response = client.post(url("resolve", claimed), {"seen_through": seen_all(claimed.pk)}, follow=True)

    assert "The customer was asked for a rating." in response.content.decode()
    conversation = Conversation.objects.get(pk=claimed.pk)
    assert conversation.status == S.RESOLVED and conversation.resolution_seconds >= 0


def test_resolving_twice_is_refused_with_a_notice(client, ana, claimed):
    services.handover_resolve(ana, claimed.pk, seen_through=seen_all(claimed.pk))
    client.force_login(ana)

    response = client.post(url("resolve", claimed), {"seen_through": seen_all(claimed.pk)}, **HTMX)

    assert response.status_code == 409 and "cannot move" in response.content.decode()


# Presence ----------------------------------------------------------------------------------


def test_an_agent_sets_their_status(client, ana):
    client.force_login(ana)

    response = client.post(reverse("desk:presence"), {"status": "away"}, **HTMX)

    assert response.status_code == 200 and 'value="away" selected' in response.content.decode()
    assert HumanAgent.objects.get(user=ana).status == "away"


def test_an_unknown_status_is_refused(client, ana):
    client.force_login(ana)

    response = client.post(reverse("desk:presence"), {"status": "asleep"}, **HTMX)

    assert response.status_code == 400 and "not one of the available choices" in response.content.decode()


def test_presence_refuses_a_get_and_an_outsider(client, ana, outsider):
    client.force_login(ana)
    assert client.get(reverse("desk:presence")).status_code == 405
    client.force_login(outsider)
    assert client.post(reverse("desk:presence"), {"status": "online"}).status_code == 403
