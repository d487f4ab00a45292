"""The widget socket, through the real ASGI application and the real Redis channel layer."""

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing.websocket import WebsocketCommunicator
from django.utils import timezone

from conversations import consumers, services
from conversations.models import Conversation, CustomerToken
from hilconsole.asgi import application
from tests.conversations.conftest import SHOP, Widget

pytestmark = pytest.mark.django_db(transaction=True)


def socket_to(conversation_id, origin=SHOP, query=""):
    headers = [(b"origin", origin.encode()), (b"host", b"testserver")] if origin else [(b"host", b"testserver")]
    return WebsocketCommunicator(application, f"/ws/widget/{conversation_id}/{query}", headers=headers)


async def signed_in(conversation_id, token, origin=SHOP) -> WebsocketCommunicator:
    """A widget socket that sent its token as its first frame and was told it is ready."""
    socket = socket_to(conversation_id, origin)
    assert (await socket.connect())[0]
    await socket.send_json_to({"type": "auth", "token": token})
    assert await socket.receive_json_from() == {"type": "ready"}
    return socket


async def close_code(socket) -> int:
    output = await socket.receive_output(timeout=3)
    assert output["type"] == "websocket.close", output
    return output["code"]


def run(scenario):
    async_to_sync(scenario)()


def test_socket_pushes_new_messages_status_changes_and_typing(started, support_agent):
    async def scenario():
        socket = await signed_in(started.conversation_id, started.token)

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
        tabs = [await signed_in(started.conversation_id, started.token) for _ in range(2)]

        response = await sync_to_async(started.send)("Is anyone there?", "c-1")
        assert response.status_code == 202

        for tab in tabs:
            pushed = await tab.receive_json_from()
            assert (pushed["message"]["id"], pushed["message"]["client_message_id"]) == (response.json()["id"], "c-1")
            await tab.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    "case, expected_code",
    [
        ("bad_token", 4401),
        ("no_token", 4401),
        ("not_an_auth_frame", 4401),
        ("not_json", 4401),
        ("unknown_conversation", 4404),
        ("wrong_origin", 4403),
    ],
)
def test_a_refused_socket_is_closed_with_a_code_the_widget_understands(started, case, expected_code):
    conversation_id, origin = started.conversation_id, SHOP
    first_frame = json.dumps({"type": "auth", "token": started.token})
    if case == "bad_token":
        first_frame = json.dumps({"type": "auth", "token": "made-up"})
    elif case == "no_token":
        first_frame = json.dumps({"type": "auth"})
    elif case == "not_an_auth_frame":
        first_frame = json.dumps({"type": "typing", "active": True})
    elif case == "not_json":
        first_frame = "hello?"
    elif case == "unknown_conversation":
        conversation_id = 999999
    elif case == "wrong_origin":
        origin = "https://evil.example"

    async def scenario():
        socket = socket_to(conversation_id, origin)
        assert (await socket.connect())[0]
        await socket.send_to(text_data=first_frame)
        assert await close_code(socket) == expected_code

    run(scenario)


def test_a_token_in_the_url_is_not_read_and_a_socket_that_sends_none_is_closed(started, monkeypatch):
    monkeypatch.setattr(consumers, "AUTH_TIMEOUT_SECONDS", 0.3)

    async def scenario():
        socket = socket_to(started.conversation_id, query=f"?token={started.token}")
        assert (await socket.connect())[0]
        await sync_to_async(services.message_post_from_ai)(started.conversation_id, content="Private")
        assert await close_code(socket) == 4401

    run(scenario)


def test_another_customers_conversation_is_closed_with_4403_and_leaks_nothing(started, client, inbox):
    stranger = Widget(client, inbox)
    stranger.start()

    async def scenario():
        socket = socket_to(started.conversation_id)
        await socket.connect()
        await socket.send_json_to({"type": "auth", "token": stranger.token})
        assert await close_code(socket) == 4403
        await sync_to_async(services.message_post_from_ai)(started.conversation_id, content="Private")
        assert await socket.receive_nothing(timeout=0.5)

    run(scenario)


def test_an_event_sent_as_soon_as_the_socket_is_ready_is_never_lost(started, monkeypatch):
    layer = get_channel_layer()
    group_add = layer.group_add

    async def slow_group_add(group, channel):
        await asyncio.sleep(0.3)  # a busy Redis: the socket must not say it is ready before this is done
        await group_add(group, channel)

    monkeypatch.setattr(layer, "group_add", slow_group_add, raising=False)

    async def scenario():
        socket = await signed_in(started.conversation_id, started.token)

        await layer.group_send(f"widget.conversation.{started.conversation_id}", message_event_for(started))

        assert (await socket.receive_json_from(timeout=3))["message"]["content"] == "Right after ready"
        await socket.disconnect()

    run(scenario)


def message_event_for(started) -> dict:
    return {
        "type": "widget.message",
        "message": {"id": 1, "sender": "ai", "author_name": "AI assistant", "content": "Right after ready",
                    "created_at": "2026-01-01T00:00:00+00:00", "client_message_id": None, "sources": []},
    }  # fmt: skip


async def desk_view_of(started):
    """(the channel layer, a channel in the group of the desk's open views of the conversation)"""
    layer = get_channel_layer()
    desk = await layer.new_channel()
    await layer.group_add(f"desk.conversation.{started.conversation_id}", desk)
    return layer, desk


def test_customer_typing_reaches_the_desk_view_of_the_conversation(started):
    async def scenario():
        layer, desk = await desk_view_of(started)
        socket = await signed_in(started.conversation_id, started.token)

        await socket.send_json_to({"type": "typing", "active": True})

        assert await layer.receive(desk) == {"type": "desk.customer_typing", "active": True}
        await socket.disconnect()

    run(scenario)


def test_a_frame_that_is_not_json_gets_an_error_frame_not_a_dropped_socket(started):
    async def scenario():
        socket = await signed_in(started.conversation_id, started.token)

        await socket.send_to(text_data="hello?")
        assert (await socket.receive_json_from())["error"]["code"] == "invalid_json"
        await socket.send_json_to({"type": "dance"})
        assert (await socket.receive_json_from())["error"]["code"] == "unknown_frame"
        await socket.disconnect()

    run(scenario)


def test_status_pushes_name_the_human_who_joined(started, support_agent):
    Conversation.objects.filter(pk=started.conversation_id).update(status="pending_human")

    async def scenario():
        socket = await signed_in(started.conversation_id, started.token)
        await sync_to_async(services.conversation_human_join)(started.conversation_id, agent=support_agent)
        assert await socket.receive_json_from() == {"type": "status", "status": "human_active", "assignee_name": "Ana"}
        await socket.disconnect()

    run(scenario)


def test_a_quiet_socket_still_gets_the_next_event(started):
    """A customer may read for a while before anyone answers; the socket's wait on the channel
    layer must outlast Redis client read timeouts (5 s by default since redis-py 8)."""

    async def scenario():
        socket = await signed_in(started.conversation_id, started.token)
        await asyncio.sleep(6.5)

        await sync_to_async(services.message_post_from_ai)(started.conversation_id, content="Still there?")
        assert (await socket.receive_json_from(timeout=5))["message"]["content"] == "Still there?"
        await socket.disconnect()

    run(scenario)


# Hostile frames ----------------------------------------------------------------------------


def test_typing_frames_reach_the_desk_a_few_times_a_second_at_most(started):
    async def scenario():
        layer, desk = await desk_view_of(started)
        socket = await signed_in(started.conversation_id, started.token)

        for _ in range(50):
            await socket.send_json_to({"type": "typing", "active": True})
        await socket.receive_nothing(timeout=0.3)  # the frames have been handled

        passed = 0
        while True:
            try:
                await asyncio.wait_for(layer.receive(desk), timeout=0.3)
            except TimeoutError:
                break
            passed += 1
        assert 1 <= passed <= 3
        await socket.disconnect()

    run(scenario)


@pytest.mark.parametrize("signed", [False, True])
def test_an_over_long_frame_closes_the_socket_with_1009(started, signed):
    async def scenario():
        if signed:
            socket = await signed_in(started.conversation_id, started.token)
        else:
            socket = socket_to(started.conversation_id)
            await socket.connect()

        await socket.send_to(text_data=json.dumps({"type": "typing", "active": True, "pad": "x" * 10_000}))

        assert await close_code(socket) == 1009

    run(scenario)


# Customer tokens expire and rotate ---------------------------------------------------------


def test_an_expired_customer_token_opens_no_socket(started, settings):
    settings.WIDGET_TOKEN_IDLE_DAYS = 30
    CustomerToken.objects.update(last_used_at=timezone.now() - timedelta(days=31))

    async def scenario():
        socket = socket_to(started.conversation_id)
        await socket.connect()
        await socket.send_json_to({"type": "auth", "token": started.token})
        assert await close_code(socket) == 4401

    run(scenario)


def test_a_rotated_customer_token_opens_no_socket_and_its_successor_does(started, client):
    old = started.token
    response = client.post("/api/widget/v1/customer-token", HTTP_AUTHORIZATION=f"Bearer {old}", HTTP_ORIGIN=SHOP)
    new = response.json()["customer_token"]

    async def scenario():
        socket = socket_to(started.conversation_id)
        await socket.connect()
        await socket.send_json_to({"type": "auth", "token": old})
        assert await close_code(socket) == 4401
        await (await signed_in(started.conversation_id, new)).disconnect()

    run(scenario)


@pytest.mark.parametrize(
    "frame", [b"\xff\xfe\x00", b'{"type": "auth", "token": 7}', "[]", "null", '{"type": ["auth"]}']
)
def test_a_hostile_first_frame_closes_the_socket_with_4401(started, frame):
    async def scenario():
        socket = socket_to(started.conversation_id)
        await socket.connect()
        await socket.send_to(**({"bytes_data": frame} if isinstance(frame, bytes) else {"text_data": frame}))
        assert await close_code(socket) == 4401

    run(scenario)


@pytest.mark.parametrize("frame", ["[1, 2]", '"typing"', '{"type": {"a": 1}}', '{"type": "typing", "active": [1]}'])
def test_a_hostile_frame_after_signing_in_never_drops_the_socket(started, frame):
    async def scenario():
        socket = await signed_in(started.conversation_id, started.token)

        await socket.send_to(text_data=frame)
        await sync_to_async(services.message_post_from_ai)(started.conversation_id, content="Still here")

        received = [await socket.receive_json_from(timeout=3)]  # an error frame first, for most
        while received[-1]["type"] != "message":
            received.append(await socket.receive_json_from(timeout=3))
        assert received[-1]["message"]["content"] == "Still here"
        await socket.disconnect()

    run(scenario)


def test_joining_a_group_survives_the_first_subscribe_after_a_redis_restart():
    """The server's channel-layer connection learns it was cut only when next used: the socket
    that uses it first must still join (seen on the live server after a Redis restart)."""
    import redis

    from hilconsole.sockets import group_join

    class CutOnce:
        def __init__(self):
            self.calls = 0

        async def group_add(self, group, channel):
            self.calls += 1
            if self.calls == 1:
                raise redis.exceptions.ConnectionError("Error UNKNOWN while writing to socket. Connection lost.")

    layer = CutOnce()

    async def join():
        await group_join(layer, "widget.conversation.1", "channel")

    run(join)

    assert layer.calls == 2
