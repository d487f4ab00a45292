"""Events to Channels groups, sent only once the transaction that caused them has committed."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def broadcast_on_commit(group: str, event: dict) -> None:
    """Send `event` to `group` after commit; nothing is sent if the transaction rolls back."""
    transaction.on_commit(lambda: broadcast_now(group, event))


def broadcast_now(group: str, event: dict) -> None:
    # The change is already committed: a Redis hiccup must not turn it into an error for the
    # caller. Listeners that miss the event catch up by polling.
    try:
        async_to_sync(get_channel_layer().group_send)(group, event)
    except Exception:
        log.exception("Could not broadcast %s to %s", event.get("type"), group)


def broadcast_all_on_commit(events: list[tuple[str, dict]]) -> None:
    """Several (group, event) pairs after commit, in order, from one callback."""
    if events:
        transaction.on_commit(lambda: [broadcast_now(group, event) for group, event in events])
