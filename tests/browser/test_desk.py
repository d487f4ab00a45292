"""Two support agents work the desk in headless Chromium while a customer chats in the widget
(a third page), against the real ASGI server, database, Redis channel layer and worker-less
services called as the AI pipeline calls them."""

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from conversations import services as conversations
from conversations.models import Conversation, Inbox
from reviews import services
from reviews.models import CannedResponse
from tests.browser.test_widget import act, open_chat, send, stored_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(db, support_agent, second_agent):
    inbox = Inbox.objects.create(name="Demo shop", greeting="Hi! Ask us anything.", allowed_origins=[])
    for agent, skills in ((support_agent, ["billing"]), (second_agent, ["shipping"])):
        services.human_agent_profile_ensure(agent, skills=skills)
        services.inbox_grant(agent, inbox)
    return inbox


def desk_of(new_page, live_server_url, user):
    """A signed-in agent's desk, once its socket is live."""
    client = Client()
    client.force_login(user)
    page = new_page()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server_url}]
    )
    page.goto("/desk/")
    expect(page.locator('[ws-connect][data-socket="open"]')).to_be_attached()
    return page


def handed_over(summary: str) -> Conversation:
    conversation = Conversation.objects.get()
    act(conversations.conversation_start_ai, conversation.pk)
    act(conversations.conversation_hand_over, conversation.pk, reason="human_request", summary=summary, confidence=0.3)
    return conversation


def test_a_handover_reaches_both_desks_one_claims_and_the_reply_and_rating_reach_the_widget(
    new_page, live_server_url, shop, support_agent, second_agent
):
    ana, ben = desk_of(new_page, live_server_url, support_agent), desk_of(new_page, live_server_url, second_agent)
    for desk in (ana, ben):
        expect(desk.get_by_text("No conversations are waiting for a human")).to_be_visible()
    customer = new_page()
    open_chat(customer)
    send(customer, "Where is my parcel?")
    expect(stored_message(customer, "Where is my parcel?")).to_be_visible()

    conversation = handed_over("Asks where the parcel is")

    for desk in (ana, ben):
        row = desk.locator(f"#queue-{conversation.pk}")
        expect(row).to_contain_text("Asks where the parcel is")
        expect(row).to_contain_text("30%")
        expect(desk.get_by_text("No conversations are waiting for a human")).to_be_hidden()
    ana.locator(f"#queue-{conversation.pk}").get_by_role("button", name=re.compile("Claim")).click()
    expect(ana).to_have_url(re.compile(rf"/desk/conversations/{conversation.pk}/$"))
    expect(ben.locator(f"#queue-{conversation.pk}")).to_have_count(0)
    expect(ben.get_by_text("No conversations are waiting for a human")).to_be_visible()
    expect(customer.locator('[data-hil="status"]')).to_contain_text("Ana is answering")

    expect(ana.locator('[ws-connect][data-socket="open"]')).to_be_attached()
    reply = ana.locator("#reply-content")
    reply.fill("Hi, I'm Ana.")
    reply.press("Shift+Enter")
    reply.type("It left the warehouse today.")
    reply.press("Enter")
    human = customer.locator('[data-hil="message"][data-sender="human"]')
    expect(human).to_contain_text("It left the warehouse today.")
    expect(human).to_contain_text("Ana")
    expect(ana.locator('#transcript [data-sender="human"]')).to_have_count(1)
    expect(reply).to_have_value("")

    send(customer, "Great, thanks!")
    expect(ana.locator('#transcript [data-sender="customer"]', has_text="Great, thanks!")).to_be_visible()

    ana.get_by_role("button", name="Resolve and ask for a rating").click()
    expect(ana).to_have_url(re.compile(r"/desk/$"))
    expect(ana.get_by_role("status").filter(has_text="Resolved")).to_be_visible()
    expect(customer.locator('[data-hil="csat"]')).to_be_visible()
    customer.locator('[data-hil="csat-rating"][data-rating="5"]').click()
    customer.locator('[data-hil="csat-submit"]').click()
    expect(customer.locator('[data-hil="csat-thanks"]')).to_be_visible()
    assert Conversation.objects.get(pk=conversation.pk).csat_rating == 5


def test_an_agent_uses_a_canned_response_with_the_keyboard_and_returns_the_conversation_to_the_ai(
    new_page, live_server_url, shop, support_agent
):
    CannedResponse.objects.create(shortcut="hello", title="Greeting", content="Hi {name}, thanks for waiting!")
    customer = new_page()
    open_chat(customer)
    send(customer, "Hello?")
    expect(stored_message(customer, "Hello?")).to_be_visible()
    conversation = handed_over("Says hello")
    act(services.handover_claim, support_agent, conversation.pk)
    ana = desk_of(new_page, live_server_url, support_agent)
    expect(ana.locator(f"#mine-{conversation.pk}")).to_be_visible()
    ana.locator(f"#mine-{conversation.pk} a").click()
    expect(ana.locator('[ws-connect][data-socket="open"]')).to_be_attached()

    ana.locator("body").press("/")
    ana.keyboard.type("hel")
    expect(ana.get_by_role("option", name=re.compile("Greeting"))).to_be_visible()
    ana.keyboard.press("Enter")
    expect(ana.locator("#reply-content")).to_have_value("Hi there, thanks for waiting!")
    ana.keyboard.press("Enter")
    expect(customer.locator('[data-hil="message"][data-sender="human"]')).to_contain_text("thanks for waiting!")

    ana.get_by_role("button", name="Return to AI").click()

    expect(ana).to_have_url(re.compile(r"/desk/$"))
    expect(ana.get_by_text("Returned to the AI")).to_be_visible()
    expect(ana.locator(f"#mine-{conversation.pk}")).to_have_count(0)
    expect(customer.locator('[data-hil="status"]')).not_to_contain_text("Ana is answering")
    assert Conversation.objects.get(pk=conversation.pk).status == Conversation.Status.BACK_TO_AI


# Desks heal missed events ----------------------------------------------------------------------

# Keeps the page's WebSockets reachable, so a test can cut them as a network blip would.
RECORD_SOCKETS = """
window.__sockets = [];
window.WebSocket = class extends window.WebSocket {
  constructor(...args) { super(...args); window.__sockets.push(this); }
};
"""


def cut_sockets(page):
    """Drop the page's sockets as the network does: the page sees an abnormal closure (1006)."""
    page.evaluate("""window.__sockets.forEach((socket) => {
      const onclose = socket.onclose;
      socket.onclose = null;
      socket.close();
      if (onclose) onclose(new CloseEvent('close', { code: 1006 }));
    })""")


def test_a_desk_whose_socket_dropped_shows_the_handover_it_missed_once_reconnected(
    new_page, live_server_url, shop, support_agent, monkeypatch
):
    customer = new_page()
    open_chat(customer)
    send(customer, "Where is my parcel?")
    expect(stored_message(customer, "Where is my parcel?")).to_be_visible()
    client = Client()
    client.force_login(support_agent)
    ana = new_page()
    ana.add_init_script(RECORD_SOCKETS)
    ana.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server_url}])
    ana.goto("/desk/")
    expect(ana.locator('[ws-connect][data-socket="open"]')).to_be_attached()
    # The handover's event is lost (a process died after commit, say): nothing is pushed.
    monkeypatch.setattr("hilconsole.broadcast.broadcast_now", lambda group, event: None)
    conversation = handed_over("Asks where the parcel is")
    expect(ana.locator(f"#queue-{conversation.pk}")).to_have_count(0)

    cut_sockets(ana)

    expect(ana.locator(f"#queue-{conversation.pk}")).to_contain_text("Asks where the parcel is", timeout=20_000)
    expect(ana.locator('[ws-connect][data-socket="open"]')).to_be_attached()


def test_resolve_is_refused_until_the_agent_has_seen_the_customers_last_message(
    new_page, live_server_url, shop, support_agent, monkeypatch
):
    customer = new_page()
    open_chat(customer)
    send(customer, "Where is my parcel?")
    expect(stored_message(customer, "Where is my parcel?")).to_be_visible()
    conversation = handed_over("Asks where the parcel is")
    act(services.handover_claim, support_agent, conversation.pk)
    ana = desk_of(new_page, live_server_url, support_agent)
    ana.goto(f"/desk/conversations/{conversation.pk}/")
    expect(ana.locator('[ws-connect][data-socket="open"]')).to_be_attached()
    # "thanks! also…" is stored as the agent clicks Resolve; its event has not reached the page.
    monkeypatch.setattr("hilconsole.broadcast.broadcast_now", lambda group, event: None)
    act(conversations.message_post_from_customer, conversation.pk, content="thanks! also…", client_message_id="x")

    ana.get_by_role("button", name="Resolve and ask for a rating").click()

    expect(ana.locator("#notices")).to_contain_text("1 new message you have not seen")
    assert Conversation.objects.get(pk=conversation.pk).status == Conversation.Status.HUMAN_ACTIVE
    ana.evaluate("htmx.trigger(document.body, 'desk:resync')")  # what reconnecting and the timer do
    expect(ana.locator("#transcript", has_text="thanks! also…")).to_be_visible()
    ana.get_by_role("button", name="Resolve and ask for a rating").click()
    expect(ana).to_have_url(re.compile(r"/desk/$"))
    assert Conversation.objects.get(pk=conversation.pk).status == Conversation.Status.RESOLVED
