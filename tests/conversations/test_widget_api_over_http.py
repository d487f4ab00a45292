"""The widget API through the real ASGI server: what runs only under ASGI (async middleware,
thread hops) is exercised here, not by the in-process test client."""

import json
import urllib.error
import urllib.request

import pytest

from conversations.models import Inbox, Message
from tests.conversations.conftest import SHOP

pytestmark = pytest.mark.django_db(transaction=True)


def call(url, body=None, method="POST", **headers):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.load(error)


def test_a_customer_chats_over_http_from_an_allowed_site(live_server_url):
    inbox = Inbox.objects.create(name="Shop", allowed_origins=[SHOP])
    api = f"{live_server_url}/api/widget/v1/conversations"

    status, headers, started = call(
        api, {"customer": {"name": "Carla"}}, Origin=SHOP, **{"X-Inbox-Token": inbox.widget_token}
    )
    assert (status, headers["access-control-allow-origin"]) == (201, SHOP)
    bearer = {"Authorization": f"Bearer {started['customer_token']}", "Origin": SHOP}
    messages = f"{api}/{started['conversation_id']}/messages"

    assert call(messages, {"content": "Hi", "client_message_id": "c-1"}, **bearer)[0] == 202
    assert call(messages, {"content": "Hi", "client_message_id": "c-1"}, **bearer)[0] == 200
    status, _, history = call(f"{messages}?after=0", method="GET", **bearer)
    assert (status, [m["content"] for m in history["messages"]]) == (200, ["Hi"])
    assert Message.objects.count() == 1


def test_errors_over_http_are_json_too(live_server_url):
    inbox = Inbox.objects.create(name="Shop", allowed_origins=[SHOP])
    api = f"{live_server_url}/api/widget/v1/conversations"

    status, headers, body = call(api, {}, Origin="https://evil.example", **{"X-Inbox-Token": inbox.widget_token})

    assert (status, body["error"]["code"]) == (403, "origin_not_allowed")
    assert "access-control-allow-origin" not in {key.lower() for key in headers}
    assert call(f"{api}/1/messages", {}, Authorization="Bearer nope")[2]["error"]["code"] == "unknown_customer_token"
