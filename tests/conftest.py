import os
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from hilconsole import embedded
from hilconsole.celery import app as celery_app
from reviews.roles import REVIEWER, SUPPORT_AGENT, role_groups_ensure, user_grant_role
from tests.processes import BASE_DIR, ConsoleProcess, free_port, python_command

LOG_DIR = BASE_DIR / "var" / "test" / "logs"


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if settings.EMBEDDED_SERVICES is not None and not settings.TEST_SERVICES_WERE_RUNNING:
        embedded.stop(settings.EMBEDDED_SERVICES)


@pytest.fixture(scope="session", autouse=True)
def turn_locks_closed_at_the_end(django_db_setup):
    """AI turns hold a lock connection of their own; the test database can only be dropped
    once it is closed."""
    yield
    from agents.pipelines.turns import turn_locks_close

    turn_locks_close()


@pytest.fixture(autouse=True)
def fresh_model_profiles():
    """Tests point profiles at test servers, and transactional tests recreate them: the next test
    must not reach a test server or a deleted profile from a cached Router."""
    yield
    from agents.llm import gateway

    gateway.forget_profile()


# The cast ----------------------------------------------------------------------------------


def person(django_user_model, username, role=None, **extra):
    role_groups_ensure()
    user = django_user_model.objects.create_user(
        username=username, password="pw", first_name=username.capitalize(), **extra
    )
    if role:
        user_grant_role(user, role)
    return user


@pytest.fixture
def site_admin(django_user_model):
    return person(django_user_model, "ada", is_staff=True, is_superuser=True)


@pytest.fixture
def support_agent(django_user_model):
    return person(django_user_model, "ana", SUPPORT_AGENT, is_staff=True)


@pytest.fixture
def second_agent(django_user_model):
    return person(django_user_model, "ben", SUPPORT_AGENT, is_staff=True)


@pytest.fixture
def reviewer(django_user_model):
    return person(django_user_model, "rita", REVIEWER, is_staff=True)


@pytest.fixture
def outsider(django_user_model):
    """Signed in, but with no role: must see nothing of the console."""
    return person(django_user_model, "olga")


def seen_all(conversation_id: int) -> int:
    """The newest message of the conversation: what an agent who read everything has seen."""
    from conversations.models import Message

    return (
        Message.objects.filter(conversation_id=conversation_id).order_by("-pk").values_list("pk", flat=True).first()
        or 0
    )


# An inbox the AI answers --------------------------------------------------------------------


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
def support_conversation(support_inbox):
    from conversations.services import conversation_open

    conversation, _, _ = conversation_open(support_inbox, name="Cleo")
    return conversation


# The demo shop ------------------------------------------------------------------------------


@pytest.fixture
def demo_orders(db) -> dict:
    """The seeded demo shop orders by number (100234 shipped, 100412 processing, …)."""
    from agents.demo_shop.services import demo_orders_ensure
    from agents.models import DemoOrder

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
    from agents.demo_shop.services import demo_orders_ensure

    demo_orders_ensure()


@pytest.fixture
def anas_conversation(db):
    """A conversation of Ana, a customer of the demo shop (orders 100234 and 100235) whom the shop
    vouched for: the tools act for her."""
    from conversations.services import conversation_open, inbox_ensure

    inbox, _ = inbox_ensure(name="Demo shop", allowed_origins=[], greeting="Hi")
    account = "shop-ana"  # the demo shop's id of her account, signed as a shop's server would
    conversation, _, _ = conversation_open(
        inbox, identifier=account, identifier_hash=inbox.identifier_hash(account), email="ana.silva@demo.example"
    )
    return conversation


# Real services and processes ---------------------------------------------------------------


@pytest.fixture(scope="session")
def embedded_services():
    if settings.EMBEDDED_SERVICES is None:
        pytest.skip("DATABASE_URL and REDIS_URL point at external services this test must not stop")
    return settings.EMBEDDED_SERVICES


@pytest.fixture(scope="session")
def console_env(django_db_setup, django_db_blocker):
    """The environment of a console process that uses the test database and test Redis."""
    db = connection.settings_dict
    port = free_port()
    yield {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
        "DEMO_SHOP_ALLOW_DELAY": "true",
        # Tests change model profiles between turns; workers must not answer from a stale copy.
        "LLM_PROFILE_REFRESH_SECONDS": "0",
        # The live server's port, chosen now so that workers know where the demo shop answers.
        "LIVE_SERVER_PORT": str(port),
        "DEMO_SHOP_URL": f"http://127.0.0.1:{port}",
    }
    # The processes are stopped by now, but PostgreSQL may not yet have noticed that their
    # sessions ended; the test database can only be dropped once they are gone.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def worker_answers_ping(hostname: str) -> bool:
    try:
        with celery_app.connection_for_write() as broker:
            return bool(celery_app.control.ping(destination=[hostname], timeout=0.5, connection=broker))
    except Exception:  # the broker itself is not reachable (yet)
        return False


@pytest.fixture(scope="session")
def worker_process(console_env):
    """A real Celery worker (prefork, one child) on the test Redis broker, started once. It takes
    tasks only while a test asks for `live_worker`: customer messages in other tests request AI
    turns too, and no worker may act on them behind those tests' backs."""
    hostname = f"test-worker-{uuid.uuid4().hex[:6]}@localhost"
    argv = python_command(
        "-m", "celery", "-A", "hilconsole", "worker", "--pool=prefork", "--concurrency=1",
        "--include=tests.celery_tasks", f"--hostname={hostname}", "--loglevel=INFO",
        "--without-mingle", "--without-gossip", f"--queues={','.join(QUEUES)}",
    )  # fmt: skip
    worker = ConsoleProcess("worker", argv, console_env, lambda: worker_answers_ping(hostname), LOG_DIR)
    worker.hostname = hostname
    worker.start()
    _consume(worker, False)
    yield worker
    worker.stop()


@pytest.fixture
def live_worker(worker_process):
    """The test worker, taking tasks for this test; ones queued before it are dropped."""
    celery_app.control.purge()
    _consume(worker_process, True)
    yield worker_process
    _consume(worker_process, False)


# Every queue tasks are routed to (settings.CELERY_TASK_QUEUES): the test worker does all the work.
QUEUES = list(settings.CELERY_TASK_QUEUES)


def _consume(worker: ConsoleProcess, on: bool) -> None:
    control = celery_app.control.add_consumer if on else celery_app.control.cancel_consumer
    # A fresh broker connection: a test may have restarted Redis under the pooled ones.
    with celery_app.connection_for_write() as broker:
        for queue in QUEUES:
            replies = control(queue, destination=[worker.hostname], reply=True, timeout=10, connection=broker)
            assert replies, f"the test worker did not answer {control.__name__}"


def worker_children(worker: ConsoleProcess) -> list[int]:
    """The pids of a worker's pool processes (the ones that run tasks)."""
    pid = worker.process.pid
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def live_server_url(console_env):
    """The real ASGI server (uvicorn: HTTP and WebSockets) on a free port."""
    port = console_env["LIVE_SERVER_PORT"]
    url = f"http://127.0.0.1:{port}"
    argv = python_command(
        "-m", "uvicorn", "hilconsole.asgi:application", "--host", "127.0.0.1", "--port", str(port),
        "--ws-max-size", str(settings.WEBSOCKET_MAX_FRAME_BYTES),
    )  # fmt: skip
    server = ConsoleProcess("web", argv, console_env, lambda: _answers_http(f"{url}/healthz"), LOG_DIR)
    server.start()
    yield url
    server.stop()


# Browser -----------------------------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without these Chromium keeps dialling Google's services, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium(live_server_url, monkeypatch):
    """Headless Chromium (Debian's chromium, driven by Playwright)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still plain blocking calls made between browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, live_server_url):
    """Opens a page in a browser context of its own (its own cookies): one per person."""

    def open_page():
        context = chromium.new_context(base_url=live_server_url)
        context.set_default_timeout(15_000)
        return context.new_page()

    return open_page


@pytest.fixture
def page(new_page):
    """A fresh headless Chromium page."""
    return new_page()
