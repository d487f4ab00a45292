"""Events to Channels groups, sent only once the transaction that caused them has committed, by
one sending thread per process (which also sends what `hand_off` gives it)."""

import asyncio
import atexit
import logging
import os
import threading

from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 5
FLUSH_AT_EXIT_SECONDS = 2


class _Sender:
    """This process's sending loop: one thread, one queue, events sent one after another.

    The channel layer keeps its Redis connections per event loop. Sync code (a Celery task, a
    view) that sent through a fresh loop each time would connect to Redis for every event and
    leave a dead loop's connections behind; one long-lived loop reuses its connections. The
    queue keeps events in the order they were committed, and the committing code does not wait
    for Redis.
    """

    def __init__(self):
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue = asyncio.Queue()
        threading.Thread(target=self._run, name="channel-layer-sender", daemon=True).start()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._send_in_order())

    async def _send_in_order(self):
        layer = get_channel_layer()
        while True:
            item = await self.queue.get()
            try:
                if callable(item):
                    item()
                else:
                    group, event = item
                    await asyncio.wait_for(layer.group_send(group, event), SEND_TIMEOUT_SECONDS)
            except Exception:
                # Committed changes stay committed; listeners that miss an event catch up by
                # polling, and a task that was not sent is sent again by its sweep.
                log.exception("Could not send %s", item if callable(item) else f"{item[1].get('type')} to {item[0]}")
            finally:
                self.queue.task_done()

    def send(self, group: str, event: dict) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (group, event))

    def call(self, fn) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, fn)

    def flush(self, timeout: float) -> None:
        """Wait until every queued event has been sent (or `timeout` passed)."""
        try:
            asyncio.run_coroutine_threadsafe(self.queue.join(), self.loop).result(timeout)
        except Exception:
            log.warning("%d events were not broadcast before the process ended", self.queue.qsize())


_sender: _Sender | None = None
_sender_lock = threading.Lock()


def _sender_of_this_process() -> _Sender:
    global _sender
    with _sender_lock:
        if _sender is None or _sender.pid != os.getpid():
            _sender = _Sender()
        return _sender


def broadcast_on_commit(group: str, event: dict) -> None:
    """Send `event` to `group` after commit; nothing is sent if the transaction rolls back."""
    transaction.on_commit(lambda: broadcast_now(group, event))


def broadcast_now(group: str, event: dict) -> None:
    """Queue `event` for `group`; it leaves in order, without the caller waiting for Redis."""
    _sender_of_this_process().send(group, event)


def hand_off(fn) -> None:
    """Run `fn()` (a short blocking call: a Celery task sent) on this process's sending thread,
    after the events queued before it; the caller does not wait for it."""
    _sender_of_this_process().call(fn)


def broadcasts_flush(timeout: float = FLUSH_AT_EXIT_SECONDS) -> None:
    if _sender is not None and _sender.pid == os.getpid():
        _sender.flush(timeout)


atexit.register(broadcasts_flush)


def broadcast_all_on_commit(events: list[tuple[str, dict]]) -> None:
    """Several (group, event) pairs after commit, in order, from one callback."""
    if events:
        transaction.on_commit(lambda: [broadcast_now(group, event) for group, event in events])
