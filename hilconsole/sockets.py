"""What every WebSocket consumer of the console shares: a cap on the frames it accepts and a
throttle for frames it passes on (typing indicators)."""

import logging
import time
from collections import deque

import redis
from channels.consumer import get_handler_name

log = logging.getLogger(__name__)

# No frame a widget or a desk sends (a token, a typing flag, a heartbeat) comes near this; the
# ASGI server refuses far longer ones before they reach a consumer (uvicorn --ws-max-size).
MAX_FRAME_CHARS = 4096
# Close code for a frame over the cap (RFC 6455: "message too big").
FRAME_TOO_LONG = 1009


def frame_too_long(text_data: str | None, bytes_data: bytes | None) -> bool:
    return len(text_data or bytes_data or "") > MAX_FRAME_CHARS


class FrameThrottle:
    """Lets at most `rate` frames pass in any `per` seconds; the rest are dropped.

    A typing indicator that a desk shows for a few seconds loses nothing when it is repeated at
    most a few times a second, and a socket that sends hundreds a second costs the desks nothing.
    """

    def __init__(self, rate: int = 3, per: float = 1.0):
        self.passed: deque[float] = deque(maxlen=rate)
        self.per = per

    def allows(self) -> bool:
        now = time.monotonic()
        if len(self.passed) == self.passed.maxlen and now - self.passed[0] < self.per:
            return False
        self.passed.append(now)
        return True


async def group_join(layer, group: str, channel: str, attempts: int = 3) -> None:
    """Subscribe the socket's channel to a group, through a Redis that may have restarted.

    The layer's Redis connection finds out it was cut only when next used: the first subscribe
    after a restart fails and the layer reconnects, so it is tried again rather than dropping the
    socket that asked.
    """
    for attempt in range(1, attempts + 1):
        try:
            await layer.group_add(group, channel)
            return
        except (redis.exceptions.ConnectionError, ConnectionError) as error:
            if attempt == attempts:
                raise
            log.warning("Joining %s failed (%s); trying again", group, error)


class WithoutConnectionHop:
    """For a consumer whose handlers reach the database only through database_sync_to_async
    (which closes stale connections itself): each message goes straight to its handler.

    Channels would first close stale database connections in a worker thread: a thread hop per
    message per socket, the main cost of a desk when 200 desks get every handover, and of the
    widget's every message, status and typing frame.
    """

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
