"""What the widget socket receives: the same JSON shapes the widget API returns."""

from django.utils import timezone

from conversations.models import Conversation, Message, person_name


def conversation_group(conversation_id: int) -> str:
    return f"widget.conversation.{conversation_id}"


def message_payload(message: Message) -> dict:
    return {
        "id": message.id,
        "sender": message.sender,
        "author_name": message.author_name,
        "content": message.content,
        "created_at": message.created_at.isoformat(),
        # The widget matches its own messages by it; other senders' keys are the console's business.
        "client_message_id": message.client_message_id if message.sender == Message.Sender.CUSTOMER else None,
        # The help articles an AI reply cites, by title.
        "sources": [citation["title"] for citation in (message.metadata or {}).get("citations", [])],
    }


def assignee_name(conversation: Conversation) -> str | None:
    if conversation.assignee is None:
        return None
    return person_name(conversation.assignee)


def message_event(message: Message) -> dict:
    return {"type": "widget.message", "message": message_payload(message)}


def status_event(conversation: Conversation) -> dict:
    return {"type": "widget.status", "status": conversation.status, "assignee_name": assignee_name(conversation)}


def typing_event(sender: str, author_name: str, active: bool) -> dict:
    return {"type": "widget.typing", "sender": sender, "author_name": author_name, "active": active}


# The desk ---------------------------------------------------------------------------------


def desk_inbox_group(inbox_id: int) -> str:
    """Every desk socket of an agent who may work the inbox."""
    return f"desk.inbox.{inbox_id}"


def desk_conversation_group(conversation_id: int) -> str:
    """The desk's open views of one conversation."""
    return f"desk.conversation.{conversation_id}"


def desk_event(conversation: Conversation) -> dict:
    """What a desk needs to decide, without a query, whether the change concerns its agent.

    The desk renders the row itself (once per process, keyed by `version`).
    """
    return {
        "type": "desk.conversation",
        "conversation_id": conversation.pk,
        "status": conversation.status,
        "assignee_id": conversation.assignee_id,
        "required_skills": list(conversation.required_skills or []),
        "version": timezone.now().isoformat(),
    }
