"""What every WebSocket consumer of the console shares: a cap on the frames it accepts and a
throttle for frames it passes on (typing indicators)."""

import time
from collections import deque

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
