"""The widget's socket: `/ws/widget/{id}/`.

The customer token never travels in the URL (URLs land in server and proxy logs): the widget
connects, then sends `{"type": "auth", "token": <customer_token>}` as its first frame. The socket
joins the conversation's group and only then answers `{"type": "ready"}`, so nothing sent to
the conversation after "ready" can be missed. It then pushes the conversation's new messages,
status changes and typing indicators, and passes the customer's typing on to the desk (a few
times a second at most).

A refused connection is closed with a code the widget understands (4401 no valid token in time,
4403 another customer's conversation or a site the inbox does not allow, 4404 no such
conversation), so it falls back to polling instead of retrying forever; a frame over the cap is
closed with 1009.
"""

import asyncio
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from conversations import services
from conversations.api import origin_allowed
from conversations.events import conversation_group, desk_conversation_group
from conversations.models import Conversation
from hilconsole.sockets import FRAME_TOO_LONG, FrameThrottle, WithoutConnectionHop, frame_too_long, group_join

# How long a connected socket may take to send its token.
AUTH_TIMEOUT_SECONDS = 10


class WidgetConsumer(WithoutConnectionHop, AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        self.group = None
        self.typing = FrameThrottle()
        await self.accept()
        self.deadline = asyncio.create_task(self.close_unless_signed_in(AUTH_TIMEOUT_SECONDS))

    async def close_unless_signed_in(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self.group is None:
            await self.close(code=4401)

    async def disconnect(self, code):
        self.deadline.cancel()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if frame_too_long(text_data, bytes_data):
            await self.close(code=FRAME_TOO_LONG)
            return
        try:
            frame = json.loads(text_data or bytes_data or "")
        except ValueError:
            frame = None
        if self.group is None:
            await self.sign_in(frame)
        elif frame is None:
            await self.send_error("invalid_json", "Frames are JSON.")
        else:
            await self.on_frame(frame)

    async def sign_in(self, frame) -> None:
        """The first frame must carry the customer token; anything else ends the connection."""
        token = frame.get("token") if isinstance(frame, dict) and frame.get("type") == "auth" else None
        refusal = await self.refusal(token) if isinstance(token, str) and token else 4401
        if refusal:
            await self.close(code=refusal)
            return
        group = conversation_group(self.conversation_id)
        # Joined before saying so: an event sent once the widget heard "ready" reaches it.
        await group_join(self.channel_layer, group, self.channel_name)
        self.group = group
        await self.send_json({"type": "ready"})

    @database_sync_to_async
    def refusal(self, token: str) -> int | None:
        customer = services.customer_for_token(token)
        if customer is None:
            return 4401
        conversation = Conversation.objects.filter(pk=self.conversation_id).only("customer_id").first()
        if conversation is None:
            return 4404
        headers = dict(self.scope["headers"])
        origin = headers.get(b"origin", b"").decode(errors="replace")
        host = headers.get(b"host", b"").decode(errors="replace")
        if conversation.customer_id != customer.pk or not origin_allowed(customer.inbox, origin, host):
            return 4403
        return None

    async def on_frame(self, frame) -> None:
        if isinstance(frame, dict) and frame.get("type") == "typing":
            # The customer is typing: the desk's open conversation views show it.
            if self.typing.allows():
                await self.channel_layer.group_send(
                    desk_conversation_group(self.conversation_id),
                    {"type": "desk.customer_typing", "active": bool(frame.get("active"))},
                )
            return
        await self.send_error("unknown_frame", "Unknown frame type.")

    async def send_error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "error": {"code": code, "message": message}})

    async def widget_message(self, event):
        await self.send_json({"type": "message", "message": event["message"]})

    async def widget_status(self, event):
        await self.send_json({"type": "status", "status": event["status"], "assignee_name": event["assignee_name"]})

    async def widget_typing(self, event):
        await self.send_json({key: event[key] for key in ("sender", "author_name", "active")} | {"type": "typing"})
