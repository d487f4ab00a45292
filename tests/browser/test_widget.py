"""A customer chats through the embedded widget on the demo shop page, in headless Chromium,
against the real ASGI server, database and Redis channel layer."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from playwright.sync_api import expect

from conversations import services
from conversations.models import Conversation, Inbox, Message
from tests.conftest import seen_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(db):
    return Inbox.objects.create(name="Demo shop", greeting="Hi! Ask us anything.", allowed_origins=[])


def open_chat(page):
    page.goto("/demo/")
    page.locator('[data-hil="launcher"]').click()
    expect(page.locator('[data-hil="panel"]')).to_be_visible()
    expect(page.locator('[data-hil="greeting"]')).to_contain_text("Hi! Ask us anything.")


def send(page, text):
    page.locator('[data-hil="input"]').fill(text)
    page.locator('[data-hil="input"]').press("Enter")


def stored_message(page, text):
    """A message the server has stored: it carries the id the server gave it."""
    return page.locator('[data-hil="message"]', has_text=text).and_(page.locator("[data-id]:not([data-id=''])"))


def the_conversation() -> Conversation:
    return Conversation.objects.get()


def taken_over_by(agent) -> Conversation:
    """The customer's conversation, now in the hands of a support agent."""
    conversation = the_conversation()
    Conversation.objects.filter(pk=conversation.pk).update(status="pending_human")
    act(services.conversation_human_join, conversation.pk, agent=agent)
    return conversation


def act(service, *args, **kwargs):
    """Run a service as the rest of the console would: in a thread with no event loop
    (Playwright's sync API keeps one running in the test's own thread)."""
    with ThreadPoolExecutor(1) as executor:
        return executor.submit(_closing_connection, service, *args, **kwargs).result()


def _closing_connection(service, *args, **kwargs):
    try:
        return service(*args, **kwargs)
    finally:
        connection.close()


def test_customer_chats_sees_status_changes_live_and_keeps_history_on_reload(page, shop, support_agent):
    open_chat(page)
    send(page, "Where is my parcel?")

    expect(stored_message(page, "Where is my parcel?")).to_have_attribute("data-sender", "customer")
    conversation = the_conversation()
    assert conversation.messages.get().content == "Where is my parcel?"

    act(services.conversation_start_ai, conversation.pk)
    expect(page.locator('[data-hil="typing"]')).to_contain_text("AI assistant is typing")
    act(services.conversation_hand_over, conversation.pk, reason="human_request")
    act(services.conversation_queue_for_human, conversation.pk)
    expect(page.locator('[data-hil="status"]')).to_contain_text("Connecting you to a person")

    act(services.conversation_human_join, conversation.pk, agent=support_agent)
    act(services.message_post_from_human, conversation.pk, agent=support_agent, content="Hi, Ana here. Checking now.")
    expect(page.locator('[data-hil="status"]')).to_contain_text("Ana is answering")
    human = page.locator('[data-hil="message"][data-sender="human"]')
    expect(human).to_contain_text("Hi, Ana here. Checking now.")
    expect(human).to_contain_text("Ana")

    page.reload()
    page.locator('[data-hil="launcher"]').click()
    expect(stored_message(page, "Where is my parcel?")).to_be_visible()
    expect(stored_message(page, "Hi, Ana here. Checking now.")).to_be_visible()
    assert Conversation.objects.count() == 1


def test_the_customer_token_travels_in_the_sockets_first_frame_and_never_in_its_url(page, shop):
    sockets, sent, received = [], [], []

    def watch(socket):
        sockets.append(socket)
        socket.on("framesent", lambda payload: sent.append(payload))
        socket.on("framereceived", lambda payload: received.append(payload))

    page.on("websocket", watch)
    open_chat(page)
    send(page, "Hello?")
    expect(stored_message(page, "Hello?")).to_be_visible()
    expect(page.locator("#hil-widget-host")).to_be_attached()
    token = page.evaluate(f"JSON.parse(localStorage.getItem('hil-widget:{shop.widget_token}')).customer_token")

    for _ in range(100):  # Playwright reports frames while it waits
        if '{"type": "ready"}' in received:
            break
        page.wait_for_timeout(50)
    # Pushed over the socket, well before the next poll (3 s) could bring it.
    act(services.message_post_from_ai, the_conversation().pk, content="Pushed live")
    expect(stored_message(page, "Pushed live")).to_be_visible(timeout=2_000)

    assert sockets and all(token not in socket.url and "token=" not in socket.url for socket in sockets)
    assert f'{{"type":"auth","token":"{token}"}}' == sent[0]


def test_a_failed_send_is_retried_without_a_duplicate(page, shop):
    open_chat(page)
    send(page, "Hello?")
    expect(stored_message(page, "Hello?")).to_be_visible()

    page.route(re.compile(r".*/messages$"), lambda route: route.abort())
    send(page, "Can you hear me?")
    retry = page.locator('[data-hil="retry"]')
    expect(retry).to_be_visible()
    page.unroute(re.compile(r".*/messages$"))
    retry.click()

    expect(stored_message(page, "Can you hear me?")).to_be_visible()
    assert list(Message.objects.values_list("content", flat=True)) == ["Hello?", "Can you hear me?"]


def test_messages_still_arrive_by_polling_when_the_socket_is_refused(page, shop, support_agent):
    page.route_web_socket(re.compile(r".*/ws/widget/.*"), lambda socket: socket.close())
    open_chat(page)
    send(page, "Anyone?")
    expect(stored_message(page, "Anyone?")).to_be_visible()
    conversation = taken_over_by(support_agent)

    act(services.message_post_from_human, conversation.pk, agent=support_agent, content="Yes, I'm here.")

    expect(stored_message(page, "Yes, I'm here.")).to_be_visible(timeout=10_000)


def test_customer_rates_the_conversation_after_it_is_resolved(page, shop, support_agent):
    open_chat(page)
    send(page, "Thanks for the help")
    expect(stored_message(page, "Thanks for the help")).to_be_visible()
    conversation = taken_over_by(support_agent)

    act(services.conversation_resolve, conversation.pk, agent=support_agent, seen_through=seen_all(conversation.pk))

    page.locator('[data-hil="csat-rating"][data-rating="4"]').click()
    page.locator('[data-hil="csat-submit"]').click()
    expect(page.locator('[data-hil="csat-thanks"]')).to_be_visible()
    assert Conversation.objects.get(pk=conversation.pk).csat_rating == 4


def test_an_over_long_message_shows_the_reason_and_keeps_the_text(page, shop):
    open_chat(page)
    too_long = "x" * 4001

    send(page, too_long)

    expect(page.locator('[data-hil="error"]')).to_contain_text("at most 4000 characters")
    expect(page.locator('[data-hil="input"]')).to_have_value(too_long)
    assert not Message.objects.exists()


def test_the_host_pages_css_does_not_reach_the_widget(page, shop):
    open_chat(page)

    background = page.locator('[data-hil="send"]').evaluate("button => getComputedStyle(button).backgroundColor")

    assert background != "rgb(255, 105, 180)"  # the demo shop styles every button hot pink
