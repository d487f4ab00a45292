"""The desk's sockets: `/ws/desk/` (queue, my conversations, escalations, presence) and
`/ws/desk/conversations/<id>/` (one conversation's workspace).

Both push htmx out-of-band fragments rendered from the pages' own partial templates. Only
signed-in desk users of the desk's own origin connect. A socket re-reads its user's access from
the database (session, active account, desk role, inbox grants) when it connects, on every
heartbeat, every DESK_PERMISSION_RECHECK_SECONDS, and at once when the account, its roles or
grants change (reviews.access); every event is forwarded on that verdict, so a revoked inbox
stops at once and forwarding costs no query. Refusals close with 4401 (not signed in, or signed
out since), 4403 (no desk role, or another site; or access lost while connected) or 4404 (a
conversation outside the agent's inboxes).
"""

import asyncio
import json
import random
import time
from importlib import import_module
from types import SimpleNamespace
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.http import Http404
from django.template.loader import render_to_string

from conversations.events import conversation_group, desk_conversation_group
from conversations.models import Conversation
from hilconsole.sockets import FRAME_TOO_LONG, FrameThrottle, WithoutConnectionHop, frame_too_long, group_join
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


def signed_in_user(session_key: str, user_id: int):
    """The session's user as the database has it now, or AccessGone: 4401 once the session is
    over (signed out, or the password changed), 4403 when the account was deactivated."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(SimpleNamespace(session=store))
    if user.is_authenticated and user.pk == user_id and user.is_active:
        return user
    still_signed_in = str(store.get(auth.SESSION_KEY)) == str(user_id)
    raise AccessGone(4403 if still_signed_in else 4401)


class AccessGone(Exception):
    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class DeskSocket(WithoutConnectionHop, AsyncWebsocketConsumer):
    """Shared by both desk sockets: refusal, access checks, heartbeats (presence) and JSON frames."""

    async def connect(self):
        self.accepted, self.gone, self.joined = False, False, set()
        # Typing frames reach the customer a few times a second at most.
        self.typing = FrameThrottle()
        refusal = await database_sync_to_async(self.refusal)()
        if refusal:
            await self.refuse(refusal)
            return
        self.user = self.scope["user"]
        self.session_key = self.scope["session"].session_key
        await database_sync_to_async(services.human_agent_heartbeat)(self.user)
        # Joined before accepting: a desk that says it is connected misses no event.
        if await self.recheck():
            await self.accept()
            self.accepted = True
            self.timer = asyncio.create_task(self.recheck_every(settings.DESK_PERMISSION_RECHECK_SECONDS))

    def refusal(self) -> int | None:
        return refusal_of(self.scope)

    async def refuse(self, code: int) -> None:
        # Accepted first when need be, only to be closed with a code the page understands.
        self.gone = True
        if not self.accepted:
            await self.accept()
            self.accepted = True
        await self.close(code=code)

    # Access --------------------------------------------------------------------------------

    async def recheck(self) -> bool:
        """Read the user's access now: join the groups it allows, or close the socket."""
        try:
            groups = await database_sync_to_async(self.access_now)()
        except AccessGone as gone:
            await self.join(set())
            await self.refuse(gone.code)
            return False
        personal = {events.desk_user_group(self.user.pk), events.desk_session_group(self.session_key)}
        await self.join(groups | personal)
        self.checked_at = time.monotonic()
        return True

    def access_now(self) -> set[str]:
        """Called in a thread: the groups this socket belongs in now, or AccessGone."""
        user = signed_in_user(self.session_key, self.user.pk)
        if not user_may_use_desk(user):
            raise AccessGone(4403)
        self.user = user
        return self.groups_now()

    def groups_now(self) -> set[str]:
        return set()

    async def still_allowed(self) -> bool:
        """Before forwarding an event: the verdict kept, unless it is older than the re-check
        period (the timer is late): then it is read again first."""
        if self.gone:
            return False
        if time.monotonic() - self.checked_at >= settings.DESK_PERMISSION_RECHECK_SECONDS:
            return await self.recheck()
        return True

    async def recheck_every(self, seconds: float) -> None:
        # Through the socket's own channel, so the re-check waits its turn behind the event
        # being forwarded instead of closing the socket in the middle of it.
        # A little earlier at random: sockets opened together (a restart) do not all re-read at once.
        while not self.gone:
            await asyncio.sleep(seconds * random.uniform(0.75, 1.0))
            await self.channel_layer.send(self.channel_name, {"type": "desk.recheck"})

    async def desk_recheck(self, event):
        if not self.gone:
            await self.recheck()

    async def desk_access_changed(self, event):
        if not self.gone:
            await self.recheck()

    async def desk_signed_out(self, event):
        await self.join(set())
        await self.refuse(4401)

    # Plumbing ------------------------------------------------------------------------------

    async def join(self, groups: set[str]) -> None:
        for group in groups - self.joined:
            await group_join(self.channel_layer, group, self.channel_name)
        for group in self.joined - groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined = groups

    async def disconnect(self, code):
        self.gone = True
        if getattr(self, "timer", None):
            self.timer.cancel()
        for group in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        if frame_too_long(text_data, bytes_data):
            self.gone = True
            await self.close(code=FRAME_TOO_LONG)
            return
        try:
            frame = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(frame, dict) and not self.gone and hasattr(self, "user"):
            await self.on_frame(frame)

    async def on_frame(self, frame: dict) -> None:
        if frame.get("type") == "heartbeat":
            await database_sync_to_async(services.human_agent_heartbeat)(self.user)
            await self.recheck()


class DeskConsumer(DeskSocket):
    def groups_now(self) -> set[str]:
        self.skills = set(selectors.agent_skills(self.user))
        self.supervisor = user_is_supervisor(self.user)
        # Read now, so that deciding what each review-task event shows needs no query.
        self.reviewer = selectors.reviewer_scope(self.user, fresh=True)
        return events.inbox_groups(self.reviewer.inbox_ids, supervisor=self.supervisor)

    async def desk_conversation(self, event):
        if not await self.still_allowed():
            return
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
        if not await self.still_allowed():
            return
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
        selectors.inbox_ids_for(self.user, fresh=True)
        try:
            selectors.access_conversation(self.user, self.conversation_id)
        except Http404:
            raise AccessGone(4403)  # its inbox was taken away from this agent
        return {conversation_group(self.conversation_id), desk_conversation_group(self.conversation_id)}

    async def on_frame(self, frame: dict) -> None:
        if frame.get("type") == "typing":
            if self.typing.allows() and await self.still_allowed():
                await database_sync_to_async(services.human_agent_typing)(
                    self.user, self.conversation_id, bool(frame.get("active"))
                )
        else:
            await super().on_frame(frame)

    async def widget_message(self, event):
        if await self.still_allowed():
            await self.send_message(event["message"]["id"])

    async def desk_message(self, event):
        if await self.still_allowed():
            await self.send_message(event["message_id"])

    async def send_message(self, message_id: int) -> None:
        await self.send(text_data=await events.rendered_once(("message", message_id), events.message_html, message_id))

    async def widget_status(self, event):
        if not await self.still_allowed():
            return
        html = await database_sync_to_async(self.state_html)()
        if html is None:  # the inbox was taken away from this agent meanwhile
            await self.refuse(4403)
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
        # A human's own typing comes back here too: not news to them.
        if event["sender"] == "ai" and await self.still_allowed():
            await self.send(text_data=typing_html("AI assistant", event["active"]))

    async def desk_customer_typing(self, event):
        if await self.still_allowed():
            await self.send(text_data=typing_html(self.customer_name, event["active"]))


def typing_html(name: str, active: bool) -> str:
    return render_to_string("reviews/_typing.html", {"name": name, "active": active, "oob": True})
