"""The widget's socket: `/ws/widget/{id}/?token=<customer_token>`.

Pushes the conversation's new messages, status changes and typing indicators. A refused
connection is accepted and closed at once with a code the widget understands (4401 bad token,
4403 another customer's conversation or a site the inbox does not allow, 4404 no such
conversation), so it falls back to polling instead of retrying forever.
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from conversations import services
from conversations.api import origin_allowed
from conversations.events import conversation_group, desk_conversation_group
from conversations.models import Conversation


class WidgetConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        token = parse_qs(self.scope["query_string"].decode()).get("token", [""])[0]
        refusal = await self.refusal(token)
        await self.accept()
        if refusal:
            await self.close(code=refusal)
            return
        self.group = conversation_group(self.conversation_id)
        await self.channel_layer.group_add(self.group, self.channel_name)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    @database_sync_to_async
    def refusal(self, token: str) -> int | None:
        customer = services.customer_for_token(token) if token else None
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

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "typing":
            # The customer is typing: the desk's open conversation views show it.
            await self.channel_layer.group_send(
                desk_conversation_group(self.conversation_id),
                {"type": "desk.customer_typing", "active": bool(content.get("active"))},
            )
            return
        await self.send_json({"type": "error", "error": {"code": "unknown_frame", "message": "Unknown frame type."}})

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)
        except ValueError:  # not JSON
            await self.send_json({"type": "error", "error": {"code": "invalid_json", "message": "Frames are JSON."}})

    async def widget_message(self, event):
        await self.send_json({"type": "message", "message": event["message"]})

    async def widget_status(self, event):
        await self.send_json({"type": "status", "status": event["status"], "assignee_name": event["assignee_name"]})

    async def widget_typing(self, event):
        await self.send_json({key: event[key] for key in ("sender", "author_name", "active")} | {"type": "typing"})
