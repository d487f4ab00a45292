"""The widget socket, through the real ASGI application and the real Redis channel layer."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing.websocket import WebsocketCommunicator

from conversations import services
from conversations.models import Conversation
from hilconsole.asgi import application
from tests.conversations.conftest import SHOP, Widget

pytestmark = pytest.mark.django_db(transaction=True)


def connect(conversation_id, token, origin=SHOP):
    headers = [(b"origin", origin.encode()), (b"host", b"testserver")] if origin else [(b"host", b"testserver")]
    return WebsocketCommunicator(application, f"/ws/widget/{conversation_id}/?token={token}", headers=headers)


def run(scenario):
    async_to_sync(scenario)()


def test_socket_pushes_new_messages_status_changes_and_typing(started, support_agent):
    async def scenario():
        socket = connect(started.conversation_id, started.token)
        connected, _ = await socket.connect()
        assert connected

        await sync_to_async(services.conversation_start_ai)(started.conversation_id)
        assert await socket.receive_json_from() == {"type": "status", "status": "ai_processing", "assignee_name": None}
        assert await socket.receive_json_from() == {
            "type": "typing", "sender": "ai", "author_name": "AI assistant", "active": True,
        }  # fmt: skip

        await sync_to_async(services.message_post_from_ai)(started.conversation_id, content="Let me check.")
        pushed = await socket.receive_json_from()
        assert pushed["type"] == "message"
        assert (pushed["message"]["sender"], pushed["message"]["content"]) == ("ai", "Let me check.")

        await sync_to_async(services.conversation_hand_over)(started.conversation_id, reason="human_request")
        assert (await socket.receive_json_from())["status"] == "handover"
        await socket.disconnect()

    run(scenario)


def test_a_message_sent_through_the_api_is_pushed_to_every_open_widget_tab(started, client):
    async def scenario():
        tabs = [connect(started.conversation_id, started.token) for _ in range(2)]
        for tab in tabs:
            assert (await tab.connect())[0]

        response = await sync_to_async(started.send)("Is anyone there?", "c-1")
        assert response.status_code == 202

        for tab in tabs:
            pushed = await tab.receive_json_from()
            assert (pushed["message"]["id"], pushed["message"]["client_message_id"]) == (response.json()["id"], "c-1")
            await tab.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    "case, expected_code",
    [("bad_token", 4401), ("no_token", 4401), ("unknown_conversation", 4404), ("wrong_origin", 4403)],
)
def test_a_refused_socket_is_closed_with_a_code_the_widget_understands(started, case, expected_code):
    conversation_id, token, origin = started.conversation_id, started.token, SHOP
    if case == "bad_token":
        token = "made-up"
    elif case == "no_token":
        token = ""
    elif case == "unknown_conversation":
        conversation_id = 999999
    elif case == "wrong_origin":
        origin = "https://evil.example"

    async def scenario():
        socket = connect(conversation_id, token, origin)
        await socket.connect()
        assert await socket.receive_output() == {"type": "websocket.close", "code": expected_code}

    run(scenario)


def test_another_customers_conversation_is_closed_with_4403_and_leaks_nothing(started, client, inbox):
    stranger = Widget(client, inbox)
    stranger.start()

    async def scenario():
        socket = connect(started.conversation_id, stranger.token)
        await socket.connect()
        assert await socket.receive_output() == {"type": "websocket.close", "code": 4403}
        await sync_to_async(services.message_post_from_ai)(started.conversation_id, content="Private")
        assert await socket.receive_nothing(timeout=0.5)

    run(scenario)


def test_customer_typing_reaches_the_desk_view_of_the_conversation(started):
    async def scenario():
        layer = get_channel_layer()
        desk = await layer.new_channel()
        await layer.group_add(f"desk.conversation.{started.conversation_id}", desk)
        socket = connect(started.conversation_id, started.token)
        await socket.connect()

        await socket.send_json_to({"type": "typing", "active": True})

        assert await layer.receive(desk) == {"type": "desk.customer_typing", "active": True}
        await socket.disconnect()

    run(scenario)


def test_a_frame_that_is_not_json_gets_an_error_frame_not_a_dropped_socket(started):
    async def scenario():
        socket = connect(started.conversation_id, started.token)
        await socket.connect()

        await socket.send_to(text_data="hello?")
        assert (await socket.receive_json_from())["error"]["code"] == "invalid_json"
        await socket.send_json_to({"type": "dance"})
        assert (await socket.receive_json_from())["error"]["code"] == "unknown_frame"
        await socket.disconnect()

    run(scenario)


def test_status_pushes_name_the_human_who_joined(started, support_agent):
    Conversation.objects.filter(pk=started.conversation_id).update(status="pending_human")

    async def scenario():
        socket = connect(started.conversation_id, started.token)
        await socket.connect()
        await sync_to_async(services.conversation_human_join)(started.conversation_id, agent=support_agent)
        assert await socket.receive_json_from() == {"type": "status", "status": "human_active", "assignee_name": "Ana"}
        await socket.disconnect()

    run(scenario)


def test_a_quiet_socket_still_gets_the_next_event(started):
    """A customer may read for a while before anyone answers; the socket's wait on the channel
    layer must outlast Redis client read timeouts (5 s by default since redis-py 8)."""

    async def scenario():
        socket = connect(started.conversation_id, started.token)
        assert (await socket.connect())[0]
        await asyncio.sleep(6.5)

        await sync_to_async(services.message_post_from_ai)(started.conversation_id, content="Still there?")
        assert (await socket.receive_json_from(timeout=5))["message"]["content"] == "Still there?"
        await socket.disconnect()

    run(scenario)
