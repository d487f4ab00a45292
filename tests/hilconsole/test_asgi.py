"""The console's ASGI application serves Django's pages with a request's whole synchronous life
in one hop to a thread of the process's pool (hilconsole.asgi.SyncStackHandler), and keeps every
check on the way."""

import asyncio
import json
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.db import connection
from django.test import Client
from django.urls import reverse

from conversations import services as conversations
from conversations.audit import audit_record
from conversations.models import Conversation, Inbox, Message
from hilconsole import asgi
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


def request(method: str, path: str, headers: list, body: bytes = b""):
    headers = [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode()), *headers]
    return HttpCommunicator(application, method, path, body=body, headers=headers)


async def streamed(communicator: HttpCommunicator) -> tuple[int, bytes]:
    """A streamed response's status and body (its last message may carry no body, which
    HttpCommunicator.get_response does not take)."""
    await communicator.send_input({"type": "http.request", "body": b""})
    start, body = await communicator.receive_output(10), b""
    while (part := await communicator.receive_output(10)).get("more_body"):
        body += part["body"]
    return start["status"], body + part.get("body", b"")


def test_a_streamed_export_is_read_whole_in_the_requests_thread(admin_user):
    """The audit CSV streams rows from a database cursor: they are read while the request
    still has its connection, as Django's own handler reads a synchronous stream."""
    for number in range(30):
        audit_record(actor=admin_user, action="bulk.made", target=admin_user, after={"n": number})
    browser = Client()
    browser.force_login(admin_user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()

    status, body = async_to_sync(streamed)(
        request("GET", "/admin/conversations/auditevent/export.csv", [(b"cookie", cookie)])
    )

    assert status == 200
    lines = body.decode().splitlines()
    assert lines[0].startswith("created_at,actor_label,action") and len(lines) == 31
    assert sum('"{""n"": ' in line for line in lines) == 30


def connections_in_use() -> int:
    stats = connection.pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


def test_requests_beyond_the_request_threads_wait_their_turn_and_hand_their_connections_back(monkeypatch, settings):
    settings.WEB_REQUEST_THREADS = 2
    monkeypatch.setattr(asgi, "_request_threads", None)
    inbox = Inbox.objects.create(name="Shop", allowed_origins=[], greeting="Hello")
    conversation, token, _ = conversations.conversation_open(inbox, name="Carla")
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json")]
    path = f"/api/widget/v1/conversations/{conversation.pk}/messages"

    async def twelve_at_once():
        posts = [
            request("POST", path, headers, json.dumps({"content": f"Hi {n}", "client_message_id": f"c-{n}"}).encode())
            for n in range(12)
        ]
        return await asyncio.gather(*(post.get_response(timeout=30) for post in posts))

    before, in_use = set(threading.enumerate()), connections_in_use()
    responses = async_to_sync(twelve_at_once)()

    assert [response["status"] for response in responses] == [202] * 12
    assert Message.objects.filter(conversation=conversation).count() == 12
    threads = [thread for thread in set(threading.enumerate()) - before if thread.name.startswith("request")]
    assert 1 <= len(threads) <= 2
    assert connections_in_use() == in_use  # each request handed its connection back to the pool
