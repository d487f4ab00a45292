import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer

from hilconsole.celery import app as celery_app


async def _receive(layer, channel, timeout=2.0):
    return await asyncio.wait_for(layer.receive(channel), timeout)


def test_channel_layer_is_the_redis_pubsub_layer():
    assert isinstance(get_channel_layer(), RedisPubSubChannelLayer)


def test_group_message_reaches_every_member_through_redis():
    async def scenario():
        layer = get_channel_layer()
        desk_a, desk_b = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("queue.inbox-1", desk_a)
        await layer.group_add("queue.inbox-1", desk_b)

        await layer.group_send("queue.inbox-1", {"type": "queue.changed", "conversation": 7})

        assert await _receive(layer, desk_a) == {"type": "queue.changed", "conversation": 7}
        assert await _receive(layer, desk_b) == {"type": "queue.changed", "conversation": 7}
        await layer.group_discard("queue.inbox-1", desk_b)
        await layer.group_send("queue.inbox-1", {"type": "queue.changed", "conversation": 8})
        assert (await _receive(layer, desk_a))["conversation"] == 8
        try:
            await _receive(layer, desk_b, timeout=0.3)
        except TimeoutError:
            return
        raise AssertionError("a channel that left the group still got its messages")

    async_to_sync(scenario)()


def test_message_sent_by_one_process_is_received_by_another(live_worker):
    """The layer is shared through Redis, not process memory: a worker's send reaches us."""

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        task = celery_app.send_task("tests.send_to_channel", args=[channel, "from the worker"])
        await asyncio.to_thread(task.get, timeout=20)

        assert await _receive(layer, channel, timeout=5) == {"type": "test.message", "text": "from the worker"}

    async_to_sync(scenario)()
