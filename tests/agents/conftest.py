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


def support_inbox_create():
    """An inbox answered by the shipped support pipeline on the local model, with the demo's
    intents, help articles and tools."""
    from agents.demo_data import intent_examples_ensure
    from agents.knowledge.services import knowledge_demo_ensure
    from agents.pipelines.defaults import support_agent_ensure
    from conversations.services import inbox_assign_ai_agent, inbox_ensure

    intent_examples_ensure()
    knowledge_demo_ensure()
    agent, _ = support_agent_ensure()
    inbox, _ = inbox_ensure(name="Support", allowed_origins=["https://shop.example"], greeting="Hi")
    return inbox_assign_ai_agent(inbox.pk, agent)


@pytest.fixture
def support_inbox(db):
    return support_inbox_create()


@pytest.fixture
def live_support_inbox(transactional_db):
    """The same, committed, for workers and servers in other processes to see."""
    return support_inbox_create()


@pytest.fixture
def demo_orders_committed(transactional_db, forget_tool_answers):
    demo_orders_ensure()


@pytest.fixture
def support_conversation(support_inbox):
    from conversations.services import conversation_open

    conversation, _, _ = conversation_open(support_inbox, name="Cleo")
    return conversation
