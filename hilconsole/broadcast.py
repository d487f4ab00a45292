"""Events to Channels groups, sent only once the transaction that caused them has committed."""

import asyncio
import logging
import os
import threading

from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)
# How long a committed change waits for its event to be handed to Redis.
SEND_TIMEOUT_SECONDS = 5

_sender: tuple[int, asyncio.AbstractEventLoop] | None = None
_sender_lock = threading.Lock()


def broadcast_on_commit(group: str, event: dict) -> None:
    """Send `event` to `group` after commit; nothing is sent if the transaction rolls back."""
    transaction.on_commit(lambda: broadcast_now(group, event))


def broadcast_now(group: str, event: dict) -> None:
    # The change is already committed: a Redis hiccup must not turn it into an error for the
    # caller. Listeners that miss the event catch up by polling.
    try:
        sending = asyncio.run_coroutine_threadsafe(get_channel_layer().group_send(group, event), _sender_loop())
        sending.result(timeout=SEND_TIMEOUT_SECONDS)
    except Exception:
        log.exception("Could not broadcast %s to %s", event.get("type"), group)


def _sender_loop() -> asyncio.AbstractEventLoop:
    """This process's event loop for sending, started on first use.

    The channel layer keeps its Redis connections per event loop. Sync code (a Celery task, a
    view) that sent through a fresh loop each time would connect to Redis for every event and
    leave a dead loop's connections behind; one long-lived loop reuses its connections. Events
    sent one after another from one thread arrive in that order.
    """
    global _sender
    with _sender_lock:
        if _sender is None or _sender[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="channel-layer-sender", daemon=True).start()
            _sender = (os.getpid(), loop)
        return _sender[1]
