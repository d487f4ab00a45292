import itertools

import pytest

from conversations import services
from conversations.models import Conversation, Inbox
from hilconsole.celery import app as celery_app
from reviews.roles import SUPERVISOR, SUPPORT_AGENT
from reviews.services import human_agent_profile_ensure, inbox_grant
from tests.conftest import person

_messages = itertools.count()


@pytest.fixture(autouse=True)
def no_leftover_tasks():
    """A task queued by one test (auto-assignment of conversation 7, say) must not run in the
    next, whose conversation 7 is someone else."""
    yield
    celery_app.control.purge()


@pytest.fixture
def inbox(db):
    return Inbox.objects.create(name="Shop", allowed_origins=[], greeting="Hello")


@pytest.fixture
def other_inbox(db):
    return Inbox.objects.create(name="Other shop", allowed_origins=[], greeting="Hello")


@pytest.fixture
def ana(support_agent, inbox):
    """Works the inbox; billing and returns."""
    human_agent_profile_ensure(support_agent, skills=["billing", "returns"], max_concurrent=3)
    inbox_grant(support_agent, inbox)
    return support_agent


@pytest.fixture
def ben(second_agent, inbox):
    """Works the inbox; shipping."""
    human_agent_profile_ensure(second_agent, skills=["shipping"], max_concurrent=3)
    inbox_grant(second_agent, inbox)
    return second_agent


@pytest.fixture
def sam(django_user_model):
    """A support agent who does not work the inbox: must see nothing of it."""
    return person(django_user_model, "sam", SUPPORT_AGENT)


@pytest.fixture
def sue(django_user_model, inbox):
    """Supervises the inbox: sees every handover whatever its skills, and its escalations."""
    supervisor = person(django_user_model, "sue", SUPERVISOR)
    inbox_grant(supervisor, inbox)
    return supervisor


def hand_over(inbox, name="Carla", text="I want to talk to a person", **brief) -> Conversation:
    """A customer's conversation, handed over by the AI and waiting in the queue."""
    conversation, _, _ = services.conversation_open(inbox, name=name)
    if text:
        # No turn requested: this helper plays the AI's part itself, and a live worker must not race it.
        services.message_post_from_customer(
            conversation.pk, content=text, client_message_id=f"m-{next(_messages)}", request_ai_turn=False
        )
    services.conversation_start_ai(conversation.pk)
    brief.setdefault("reason", "human_request")
    services.conversation_hand_over(conversation.pk, **brief)
    return Conversation.objects.get(pk=conversation.pk)


@pytest.fixture
def handover(inbox):
    return hand_over(inbox, summary="Wants to know where the parcel is", intent="order_status", confidence=0.42)
