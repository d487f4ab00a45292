"""What the desk's sockets push: htmx out-of-band swaps of the page's own partial templates.

Events travel through the channel layer as small dicts; each desk process renders a fragment
once per change (`rendered_once`) and sends it to every socket that may see it.
"""

import asyncio
import hashlib
from collections import OrderedDict

from channels.db import database_sync_to_async
from django.template.loader import render_to_string
from django.utils import timezone

from conversations.events import desk_conversation_group, desk_inbox_group
from reviews import selectors

QUEUE_LIST = "queue-list"
MINE_LIST = "mine-list"
ESCALATION_LIST = "escalation-list"
REVIEW_LIST = "review-list"
DECISION_LIST = "decision-list"
TRANSCRIPT = "transcript"


def escalation_group(inbox_id: int) -> str:
    """The desks of the inbox's supervisors."""
    return f"desk.escalations.{inbox_id}"


def escalation_event(inbox_id: int, conversation_id: int) -> tuple[str, dict]:
    event = {"type": "desk.escalation", "conversation_id": conversation_id, "version": timezone.now().isoformat()}
    return escalation_group(inbox_id), event


def review_task_events(task, *, escalated: bool = False) -> list[tuple[str, dict]]:
    """A task opened, escalated or closed: to every desk of its inbox (each socket checks whether
    its person may see it) and to the open views of its conversation."""
    event = {
        "type": "desk.review_task", "task_id": task.pk, "inbox_id": task.inbox_id, "tool_id": task.tool_id,
        "kind": task.kind, "status": task.status, "escalated": escalated or bool(task.escalated_at),
        "conversation_id": task.conversation_id, "version": timezone.now().isoformat(),
    }  # fmt: skip
    groups = [desk_inbox_group(task.inbox_id)]
    if task.conversation_id:
        groups.append(desk_conversation_group(task.conversation_id))
    return [(group, event) for group in groups]


def message_added_event(message) -> dict:
    return {"type": "desk.message", "message_id": message.pk}


def desk_user_group(user_id: int) -> str:
    """Every open desk socket of one person."""
    return f"desk.user.{user_id}"


def desk_session_group(session_key: str) -> str:
    """The desk sockets of one signed-in session (named by a digest: the key is a credential)."""
    return f"desk.session.{hashlib.sha256(session_key.encode()).hexdigest()[:32]}"


def access_changed_event() -> dict:
    return {"type": "desk.access_changed"}


def signed_out_event() -> dict:
    return {"type": "desk.signed_out"}


def inbox_groups(inbox_ids, *, supervisor: bool) -> set[str]:
    groups = {desk_inbox_group(inbox_id) for inbox_id in inbox_ids}
    if supervisor:
        groups |= {escalation_group(inbox_id) for inbox_id in inbox_ids}
    return groups


# Fragments ---------------------------------------------------------------------------------


def removal(dom_id: str) -> str:
    return f'<div id="{dom_id}" hx-swap-oob="delete"></div>'


def upsert(dom_id: str, list_id: str, row_html: str, *, position: str = "beforeend") -> str:
    """Replace the row if the page has it, else add it to the list (desk.js keeps the order)."""
    return f'{removal(dom_id)}<div hx-swap-oob="{position}:#{list_id}">{row_html}</div>'


def queue_row_html(conversation_id: int) -> str:
    conversation = selectors.queue_row(conversation_id)
    if conversation is None:
        return removal(f"queue-{conversation_id}")
    row = render_to_string("reviews/_queue_row.html", {"conversation": conversation})
    return upsert(f"queue-{conversation_id}", QUEUE_LIST, row)


def my_row_html(conversation_id: int) -> str:
    conversation = selectors.queue_row(conversation_id)
    if conversation is None:
        return removal(f"mine-{conversation_id}")
    row = render_to_string("reviews/_my_row.html", {"conversation": conversation})
    return upsert(f"mine-{conversation_id}", MINE_LIST, row)


def escalation_html(conversation_id: int) -> str:
    conversation = selectors.queue_row(conversation_id)
    if conversation is None:
        return ""
    notice = render_to_string("reviews/_escalation.html", {"conversation": conversation})
    return upsert(f"escalation-{conversation_id}", ESCALATION_LIST, notice, position="afterbegin")


def review_row_html(task_id: int) -> str:
    task = selectors.review_task_row(task_id)
    if task is None or not task.is_open:
        return removal(f"review-{task_id}")
    row = render_to_string("reviews/_review_row.html", {"task": task})
    return upsert(f"review-{task_id}", REVIEW_LIST, row)


def waiting_row_html(task_id: int) -> str:
    """A conversation of the inbox that waits for a reviewer (the task's details are only for
    the people who may decide it)."""
    task = selectors.review_task_row(task_id)
    if task is None or task.conversation_id is None:
        return ""
    if not task.is_open:
        return removal(f"waiting-{task.conversation_id}")
    row = render_to_string("reviews/_decision_row.html", {"task": task})
    return upsert(f"waiting-{task.conversation_id}", DECISION_LIST, row)


def message_html(message_id: int) -> str:
    """A transcript line appended to the workspace (desk.js drops it if already shown)."""
    message = selectors.message_for_desk(message_id)
    if message is None:
        return ""
    line = render_to_string("reviews/_message.html", {"message": message})
    return f'<div hx-swap-oob="beforeend:#{TRANSCRIPT}">{line}</div>'


# Rendering once per process ----------------------------------------------------------------

_rendered: OrderedDict = OrderedDict()
_RENDERED_KEPT = 512


async def rendered_once(key: tuple, render, *args) -> str:
    """`render(*args)` (sync, may query) for the first socket of this process that asks for
    `key`; every other socket awaits the same result. 200 desks cost one render, not 200."""
    loop = asyncio.get_running_loop()
    full_key = (loop, *key)
    pending = _rendered.get(full_key)
    if pending is None:
        pending = loop.create_task(database_sync_to_async(render)(*args))
        _rendered[full_key] = pending
        while len(_rendered) > _RENDERED_KEPT:
            _rendered.popitem(last=False)
    return await pending
