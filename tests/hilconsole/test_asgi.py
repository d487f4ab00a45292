"""The console's ASGI application serves Django's pages with the middleware and the view in one
worker thread (hilconsole.asgi.SyncStackHandler), and keeps every check on the way."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.test import Client
from django.urls import reverse

from conversations import services as conversations
from conversations.models import Conversation, Inbox
from hilconsole.asgi import application, django_asgi_app
from reviews import services

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "k" * 32  # a CSRF secret: the cookie and the header must match


def test_the_middleware_stack_is_synchronous_so_a_request_makes_one_hop():
    """Django's own handler would run it async, hopping to a thread around each sync piece."""
    assert not asyncio.iscoroutinefunction(django_asgi_app._middleware_chain)


def post(path: str, session_key: str, *, csrf: bool):
    headers = [(b"host", b"127.0.0.1"), (b"hx-request", b"true")]
    cookies = f"sessionid={session_key}"
    if csrf:
        cookies += f"; csrftoken={TOKEN}"
        headers.append((b"x-csrftoken", TOKEN.encode()))
    headers.append((b"cookie", cookies.encode()))
    return async_to_sync(HttpCommunicator(application, "POST", path, headers=headers).get_response)()


def test_a_claim_through_the_asgi_application_is_checked_for_csrf_and_then_made(support_agent):
    inbox = Inbox.objects.create(name="Shop", allowed_origins=[], greeting="Hello")
    services.inbox_grant(support_agent, inbox)
    conversation, _, _ = conversations.conversation_open(inbox, name="Carla")
    conversations.conversation_start_ai(conversation.pk)
    conversations.conversation_hand_over(conversation.pk, reason="human_request")
    browser = Client()
    browser.force_login(support_agent)
    session_key = browser.cookies["sessionid"].value
    path = reverse("desk:claim", args=[conversation.pk])

    forged = post(path, session_key, csrf=False)
    assert forged["status"] == 403
    assert Conversation.objects.get(pk=conversation.pk).assignee is None

    claimed = post(path, session_key, csrf=True)
    assert claimed["status"] == 200
    assert dict(claimed["headers"])[b"HX-Redirect"] == reverse("desk:conversation", args=[conversation.pk]).encode()
    assert Conversation.objects.get(pk=conversation.pk).assignee == support_agent
