"""What the widget socket receives: the same JSON shapes the widget API returns."""

from conversations.models import Conversation, Message


def conversation_group(conversation_id: int) -> str:
    return f"widget.conversation.{conversation_id}"


def message_payload(message: Message) -> dict:
    return {
        "id": message.id,
        "sender": message.sender,
        "author_name": message.author_name,
        "content": message.content,
        "created_at": message.created_at.isoformat(),
        "client_message_id": message.client_message_id,
        # The help articles an AI reply cites, by title.
        "sources": [citation["title"] for citation in (message.metadata or {}).get("citations", [])],
    }


def assignee_name(conversation: Conversation) -> str | None:
    if conversation.assignee is None:
        return None
    return conversation.assignee.first_name or conversation.assignee.get_username()


def message_event(message: Message) -> dict:
    return {"type": "widget.message", "message": message_payload(message)}


def status_event(conversation: Conversation) -> dict:
    return {"type": "widget.status", "status": conversation.status, "assignee_name": assignee_name(conversation)}


def typing_event(sender: str, author_name: str, active: bool) -> dict:
    return {"type": "widget.typing", "sender": sender, "author_name": author_name, "active": active}
