"""The desk's sockets: `/ws/desk/` (queue, my conversations, escalations, presence) and
`/ws/desk/conversations/<id>/` (one conversation's workspace).

Both push htmx out-of-band fragments rendered from the pages' own partial templates. Only
signed-in desk users of the desk's own origin connect; a desk socket joins the groups of the
inboxes its agent works, re-read on every heartbeat, so a revoked inbox stops within one.
Refusals close with 4401 (not signed in), 4403 (no desk role, or another site) or 4404 (a
conversation outside the agent's inboxes).
"""

import json
from urllib.parse import urlsplit

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404
from django.template.loader import render_to_string

from conversations.events import conversation_group, desk_conversation_group
from conversations.models import Conversation
from reviews import events, selectors, services
from reviews.roles import user_is_supervisor, user_may_use_desk
from reviews.views import workspace_state_context

S = Conversation.Status


def refusal_of(scope) -> int | None:
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return 4401
    headers = dict(scope["headers"])
    origin = headers.get(b"origin", b"").decode(errors="replace")
    host = headers.get(b"host", b"").decode(errors="replace")
    # Cookies ride along on any site's socket: only the console's own pages may open one.
    if origin and urlsplit(origin).netloc != host:
        return 4403
    if not user_may_use_desk(user):
        return 4403
    return None


class DeskSocket(AsyncWebsocketConsumer):
    """Shared by both desk sockets: refusal, heartbeats (presence) and JSON frames."""

    async def connect(self):
        refusal = await database_sync_to_async(self.refusal)()
        if refusal:
            # Accepted only to be closed with a code the page understands.
            await self.accept()
            await self.close(code=refusal)
            return
        self.user = self.scope["user"]
        self.joined: set[str] = set()
        # Joined before accepting: a desk that says it is connected misses no event.
        await self.join(await database_sync_to_async(self.groups_now)())
        await self.accept()

    def refusal(self) -> int | None:
        return refusal_of(self.scope)

    def groups_now(self) -> set[str]:
        """Called in a thread: heartbeat and the groups this socket belongs in now."""
        services.human_agent_heartbeat(self.user)
        return set()

    async def dispatch(self, message):
        # Channels would first close stale database connections in a thread: a thread hop per
        # message per socket, the desk's main cost when 200 desks get every handover. These
        # handlers reach the database only through database_sync_to_async, which does it itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def join(self, groups: set[str]) -> None:
        for group in groups - self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        for group in self.joined - groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined = groups

    async def disconnect(self, code):
        for group in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(frame, dict) and hasattr(self, "user"):
            await self.on_frame(frame)

    async def on_frame(self, frame: dict) -> None:
        if frame.get("type") == "heartbeat":
            await self.join(await database_sync_to_async(self.groups_now)())


class DeskConsumer(DeskSocket):
    def groups_now(self) -> set[str]:
        super().groups_now()
        self.skills = set(selectors.agent_skills(self.user))
        self.supervisor = user_is_supervisor(self.user)
        # Read now, so that deciding what each review-task event shows needs no query.
        self.reviewer = selectors.reviewer_scope(self.user, fresh=True)
        return events.inbox_groups(self.reviewer.inbox_ids, supervisor=self.supervisor)

    async def desk_conversation(self, event):
        conversation_id, version = event["conversation_id"], event["version"]
        shown = self.supervisor or set(event["required_skills"]) <= self.skills
        if event["status"] == S.PENDING_HUMAN and shown:
            queue = await events.rendered_once(
                ("queue", conversation_id, version), events.queue_row_html, conversation_id
            )
        else:
            queue = events.removal(f"queue-{conversation_id}")
        if event["status"] == S.HUMAN_ACTIVE and event["assignee_id"] == self.user.pk:
            mine = await events.rendered_once(("mine", conversation_id, version), events.my_row_html, conversation_id)
        else:
            mine = events.removal(f"mine-{conversation_id}")
        if event["status"] != S.PENDING_HUMAN:
            mine += events.removal(f"escalation-{conversation_id}")
        await self.send(text_data=queue + mine)

    async def desk_review_task(self, event):
        task_id, version = event["task_id"], event["version"]
        review = ""
        # Only people who may decide a task hear of it; the others see its conversation wait.
        if self.reviewer.sees(inbox_id=event["inbox_id"], tool_id=event["tool_id"], kind=event["kind"]):
            if event["status"] == "open":
                review = await events.rendered_once(("review", task_id, version), events.review_row_html, task_id)
            else:
                review = events.removal(f"review-{task_id}")
        waiting = ""
        if event["conversation_id"]:
            waiting = await events.rendered_once(("waiting", task_id, version), events.waiting_row_html, task_id)
        await self.send(text_data=review + waiting)

    async def desk_escalation(self, event):
        conversation_id = event["conversation_id"]
        key = ("escalation", conversation_id, event["version"])
        await self.send(text_data=await events.rendered_once(key, events.escalation_html, conversation_id))


class WorkspaceConsumer(DeskSocket):
    def refusal(self) -> int | None:
        refusal = super().refusal()
        if refusal:
            return refusal
        try:
            conversation = selectors.access_conversation(self.scope["user"], self.conversation_id)
        except Http404:
            return 4404
        self.customer_name = str(conversation.customer)
        return None

    @property
    def conversation_id(self) -> int:
        return self.scope["url_route"]["kwargs"]["conversation_id"]

    def groups_now(self) -> set[str]:
        super().groups_now()
        selectors.inbox_ids_for(self.user, fresh=True)
        try:
            selectors.access_conversation(self.user, self.conversation_id)
        except Http404:
            return set()
        return {conversation_group(self.conversation_id), desk_conversation_group(self.conversation_id)}

    async def on_frame(self, frame: dict) -> None:
        if frame.get("type") == "typing":
            await database_sync_to_async(services.human_agent_typing)(
                self.user, self.conversation_id, bool(frame.get("active"))
            )
        else:
            await super().on_frame(frame)

    async def widget_message(self, event):
        message_id = event["message"]["id"]
        await self.send(text_data=await events.rendered_once(("message", message_id), events.message_html, message_id))

    async def desk_message(self, event):
        message_id = event["message_id"]
        await self.send(text_data=await events.rendered_once(("message", message_id), events.message_html, message_id))

    async def widget_status(self, event):
        html = await database_sync_to_async(self.state_html)()
        if html is None:  # the inbox was taken away from this agent meanwhile
            await self.close(code=4404)
            return
        await self.send(text_data=html)

    def state_html(self) -> str | None:
        try:
            conversation = selectors.access_conversation(self.user, self.conversation_id)
        except Http404:
            return None
        context = workspace_state_context(self.user, conversation) | {"oob": True}
        return render_to_string("reviews/_workspace_state.html", context)

    async def desk_review_task(self, event):
        # A decision opened or closed on this conversation: its status panel says so.
        await self.widget_status(event)

    async def widget_typing(self, event):
        if event["sender"] == "ai":  # a human's own typing comes back here too: not news to them
            await self.send(text_data=typing_html("AI assistant", event["active"]))

    async def desk_customer_typing(self, event):
        await self.send(text_data=typing_html(self.customer_name, event["active"]))


def typing_html(name: str, active: bool) -> str:
    return render_to_string("reviews/_typing.html", {"name": name, "active": active, "oob": True})
