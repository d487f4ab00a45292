import pytest
import redis
from django.conf import settings

from agents.demo_shop.services import demo_orders_ensure
from agents.models import DemoOrder


@pytest.fixture(autouse=True)
def fresh_model_profiles():
    """Tests point profiles at test servers; the next test must not reach them from a cached Router."""
    yield
    from agents.llm import gateway

    gateway.forget_profile()


@pytest.fixture
def demo_orders(db) -> dict[str, DemoOrder]:
    """The seeded demo shop orders by number (100234 shipped, 100412 processing, …)."""
    demo_orders_ensure()
    return {order.number: order for order in DemoOrder.objects.all()}


@pytest.fixture
def forget_tool_answers():
    """Cached tool answers and the shop's idempotency keys live in Redis, which outlives each
    test's database: without this, one test would see another's answers."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for pattern in ("hil:*:tool-result:*", "hil:*:demo-shop:idempotency:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)


@pytest.fixture
def demo_shop_api(live_server_url, settings, forget_tool_answers) -> str:
    """The demo shop served by the real ASGI server; the tools of this test process call it."""
    settings.DEMO_SHOP_URL = live_server_url
    return f"{live_server_url}/demo-shop/api"


@pytest.fixture
def demo_orders_committed(transactional_db, forget_tool_answers):
    demo_orders_ensure()


@pytest.fixture
def ana(db):
    """A conversation of Ana, a customer of the demo shop (orders 100234 and 100235) whom the shop
    vouched for: the tools act for her."""
    from conversations.services import conversation_open, inbox_ensure

    inbox, _ = inbox_ensure(name="Demo shop", allowed_origins=[], greeting="Hi")
    email = "ana.silva@demo.example"
    conversation, _, _ = conversation_open(inbox, identifier=email, identifier_hash=inbox.identifier_hash(email))
    return conversation
