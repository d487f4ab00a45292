import json

import pytest
import redis
from django.conf import settings

from conversations.models import Inbox

SHOP = "https://shop.example"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Throttle counters live in Redis and would carry over from one test to the next."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("hil:throttle:*"):
        client.delete(key)


@pytest.fixture
def inbox(db):
    return Inbox.objects.create(name="Shop", allowed_origins=[SHOP], greeting="Hello from the shop")


class Widget:
    """What an embedded widget sends: JSON, from the shop's origin."""

    def __init__(self, client, inbox, origin=SHOP):
        self.client, self.inbox, self.origin = client, inbox, origin
        self.token = self.conversation_id = None

    def headers(self, **extra):
        headers = {"HTTP_ORIGIN": self.origin} if self.origin else {}
        if self.token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        return headers | extra

    def start(self, **customer):
        response = self.client.post(
            "/api/widget/v1/conversations",
            json.dumps({"customer": customer}),
            content_type="application/json",
            **self.headers(HTTP_X_INBOX_TOKEN=self.inbox.widget_token),
        )
        if response.status_code in (200, 201):
            self.token = response.json()["customer_token"]
            self.conversation_id = response.json()["conversation_id"]
        return response

    def send(self, content, client_message_id="m-1", conversation_id=None):
        return self.client.post(
            f"/api/widget/v1/conversations/{conversation_id or self.conversation_id}/messages",
            json.dumps({"content": content, "client_message_id": client_message_id}),
            content_type="application/json",
            **self.headers(),
        )

    def history(self, after=0, conversation_id=None):
        return self.client.get(
            f"/api/widget/v1/conversations/{conversation_id or self.conversation_id}/messages",
            {"after": after},
            **self.headers(),
        )

    def rate(self, body):
        return self.client.post(
            f"/api/widget/v1/conversations/{self.conversation_id}/csat",
            json.dumps(body),
            content_type="application/json",
            **self.headers(),
        )


@pytest.fixture
def widget(client, inbox):
    return Widget(client, inbox)


@pytest.fixture
def started(widget):
    assert widget.start(name="Carla").status_code == 201
    return widget
