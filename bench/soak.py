"""Soak: customers and support agents act at random against the running console, then every
conversation is checked for lost or duplicated messages.

The console runs as it does in production: uvicorn (2 processes), a Celery worker (2 processes)
and Celery beat with its sweeps, on PostgreSQL and Redis, with the embedded local model. For
SOAK_SECONDS (default 300) a dozen customers open conversations and send 1–8 messages with random
gaps (bursts included), ask for people, thank, and come back after a resolution; support agents
claim, reply, resolve, release, return conversations to the AI, go away and close their desks.
Then the load stops, the console is given time to settle, and these must hold for every
conversation:

- none is left in `ai_processing`, and no AI run is left running;
- every customer message is followed by an AI reply or a person's reply, or was read by the
  person who resolved it, or its conversation has a place in the human queue;
- no run sent its reply twice;
- no request got a 5xx answer;
- each conversation's status and assignee are the ones its audit log says it moved to last.

Prints the figures, the web and worker processes' memory growth per 1,000 conversations, and
exits with status 1 on any violation.

Usage: python bench/soak.py [--seconds N] [--customers N] [--agents N] [--seed N]
Runs on its own embedded services (var/bench) unless DATABASE_URL / REDIS_URL are set.
"""

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The console's own timers, shortened so that a few minutes exercise them many times.
SOAK_ENVIRONMENT = {
    "AI_TURN_STALLED_SECONDS": "10",
    "DESK_AWAY_AFTER_SECONDS": "8",
    "DESK_OFFLINE_AFTER_SECONDS": "16",
    "DESK_ASSIGNMENT_RETRY_SECONDS": "10",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(SOAK_ENVIRONMENT)
import infra_floor  # noqa: E402  (sets up Django on the benchmark's services)
import psutil  # noqa: E402
from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

# isort: split
from handover_fanout import session_for  # noqa: E402

from agents.models import AIAgent, PipelineRun  # noqa: E402
from agents.pipelines.defaults import support_agent_ensure  # noqa: E402
from agents.pipelines.turns import waiting_messages  # noqa: E402
from conversations.models import AuditEvent, Conversation, Inbox, Message  # noqa: E402
from conversations.services import inbox_assign_ai_agent, inbox_ensure  # noqa: E402
from reviews.models import ReviewTask  # noqa: E402
from reviews.review_tasks import tool_approvers_grant  # noqa: E402
from reviews.roles import SUPERVISOR, SUPPORT_AGENT, role_groups_ensure, user_grant_role  # noqa: E402
from reviews.services import human_agent_profile_ensure, inbox_grant  # noqa: E402
from tests.processes import free_port  # noqa: E402

S = Conversation.Status
QUESTIONS = [
    "What is your return policy?",
    "How long does shipping take?",
    "and shipping to Switzerland?",
    "Which payment methods do you accept?",
    "PayPal?",
    "How long is a gift card valid?",
    "Where is my order 100234?",
    "Is there a warranty on headphones?",
    "ok",
    "also",
    "hello?",
]
ASK_FOR_A_PERSON = ["I want to talk to a human", "Can I speak to a person please?"]
REFUNDS = ["I want a refund of €5 for order 100234, it arrived broken", "Please refund €3 on order 100412"]
# Shop accounts some customers are signed in as (the tools act only for an order's own customer).
ACCOUNTS = [("shop-ana", REFUNDS[0]), ("shop-marc", REFUNDS[1])]
THANKS = ["thanks!", "Thank you, that helps", "great"]
MINE = re.compile(r'id="mine-(\d+)"')
QUEUED = re.compile(r'id="queue-(\d+)"')
REVIEWS = re.compile(r'id="review-(\d+)"')
SEEN_THROUGH = re.compile(r'name="seen_through" value="(\d+)"')


class Tally:
    """What the load did, and every answer the console gave it."""

    def __init__(self):
        self.actions = Counter()
        self.statuses = Counter()
        self.server_errors: list[str] = []

    def answered(self, what: str, status: int, body: str = "") -> None:
        self.statuses[f"{status // 100}xx"] += 1
        if status >= 500:
            self.server_errors.append(f"{what}: {status} {body[:200]}")


async def request(session, tally: Tally, what: str, method: str, url: str, **kwargs) -> tuple[int, str]:
    try:
        async with session.request(method, url, **kwargs) as response:
            body = await response.text()
    except (TimeoutError, OSError, ClientError) as error:
        tally.server_errors.append(f"{what}: no answer ({type(error).__name__})")
        return 0, ""
    tally.answered(what, response.status, body)
    return response.status, body


# Customers ---------------------------------------------------------------------------------


class Customer:
    def __init__(self, session, base: str, inbox: Inbox, tally: Tally, rng: random.Random, account=None):
        self.session, self.base, self.inbox, self.tally, self.rng = session, base, inbox, tally, rng
        self.conversation_id, self.token = None, None
        self.account = account  # (the shop's id of their account, the refund they ask for) or None

    async def open(self) -> bool:
        status, body = await request(
            self.session, self.tally, "open conversation", "POST", f"{self.base}/api/widget/v1/conversations",
            json={"customer": self.identity()},
            headers={"X-Inbox-Token": self.inbox.widget_token},
        )  # fmt: skip
        if status not in (200, 201):
            return False
        answer = json.loads(body)
        self.conversation_id, self.token = answer["conversation_id"], answer["customer_token"]
        self.tally.actions["conversations opened"] += 1
        return True

    def identity(self) -> dict:
        if self.account is None:
            return {"name": f"Soak customer {self.rng.randrange(10**6)}"}
        identifier = self.account[0]
        return {"identifier": identifier, "identifier_hash": self.inbox.identifier_hash(identifier)}

    async def say(self, text: str) -> None:
        url = f"{self.base}/api/widget/v1/conversations/{self.conversation_id}/messages"
        body = {"content": text, "client_message_id": uuid.uuid4().hex}
        status, _ = await request(
            self.session, self.tally, "customer message", "POST", url, json=body,
            headers={"Authorization": f"Bearer {self.token}"},
        )  # fmt: skip
        if status in (200, 202):
            self.tally.actions["customer messages"] += 1

    def next_line(self) -> str:
        roll = self.rng.random()
        if roll < 0.05:
            return self.rng.choice(ASK_FOR_A_PERSON)
        if roll < 0.09:
            return self.account[1] if self.account else self.rng.choice(REFUNDS)
        if roll < 0.15:
            return self.rng.choice(THANKS)
        return self.rng.choice(QUESTIONS)

    async def chat(self, stop_at: float) -> None:
        while time.monotonic() < stop_at:
            # Most come back to the conversation they had (reopening it once resolved).
            if self.conversation_id is None or self.rng.random() < 0.3:
                if not await self.open():
                    await asyncio.sleep(1)
                    continue
            burst = self.rng.random() < 0.4
            for _ in range(self.rng.randint(3, 8) if burst else self.rng.randint(1, 4)):
                if time.monotonic() >= stop_at:
                    return
                await self.say(self.next_line())
                await asyncio.sleep(self.rng.uniform(0.02, 0.15) if burst else self.rng.uniform(0.5, 4))
            await asyncio.sleep(self.rng.uniform(1, 8))


# Support agents ----------------------------------------------------------------------------


class Agent:
    def __init__(self, session, base: str, session_key: str, tally: Tally, rng: random.Random):
        self.session, self.base, self.tally, self.rng = session, base, tally, rng
        self.cookies = {"sessionid": session_key}
        self.desk_open = asyncio.Event()
        self.reviewer = False

    async def sign_in(self) -> None:
        async with self.session.get(f"{self.base}/desk/", cookies=self.cookies) as response:
            await response.read()
            self.cookies["csrftoken"] = response.cookies["csrftoken"].value

    async def post(self, what: str, path: str, data: dict | None = None) -> tuple[int, str]:
        headers = {"HX-Request": "true", "X-CSRFToken": self.cookies["csrftoken"]}
        return await request(
            self.session, self.tally, what, "POST", f"{self.base}{path}", data=data or {}, headers=headers,
            cookies=self.cookies,
        )  # fmt: skip

    async def get(self, what: str, path: str) -> str:
        status, body = await request(
            self.session, self.tally, what, "GET", f"{self.base}{path}", headers={"HX-Request": "true"},
            cookies=self.cookies,
        )  # fmt: skip
        return body if status == 200 else ""

    async def keep_desk_open(self, stop_at: float) -> None:
        """The desk tab: its socket sends heartbeats while open; closed and reopened at random."""
        url = self.base.replace("http", "ws") + "/ws/desk/"
        headers = {"Cookie": f"sessionid={self.cookies['sessionid']}", "Origin": self.base}
        while time.monotonic() < stop_at:
            try:
                async with self.session.ws_connect(url, headers=headers) as socket:
                    self.desk_open.set()
                    open_until = time.monotonic() + self.rng.uniform(20, 60)
                    while time.monotonic() < min(open_until, stop_at):
                        await socket.send_str(json.dumps({"type": "heartbeat"}))
                        try:  # read what the desk pushes, as a browser does
                            while True:
                                await socket.receive(timeout=3)
                        except TimeoutError:
                            pass
            except (OSError, ClientError) as error:
                self.tally.server_errors.append(f"desk socket: {type(error).__name__}: {error}")
            self.desk_open.clear()
            if time.monotonic() < stop_at:
                self.tally.actions["desks closed for a while"] += 1
                await asyncio.sleep(self.rng.uniform(5, 25))  # the tab is closed: no heartbeat

    async def work(self, stop_at: float) -> None:
        while time.monotonic() < stop_at:
            await asyncio.sleep(self.rng.uniform(0.3, 2.0))
            if not self.desk_open.is_set():
                continue
            if self.reviewer and self.rng.random() < 0.5:
                await self.review()
                continue
            lists = await self.get("desk lists", "/desk/lists/")
            mine, queued = MINE.findall(lists), QUEUED.findall(lists)
            roll = self.rng.random()
            if roll < 0.05:
                status = self.rng.choice(["away", "online"])
                await self.post("presence", "/desk/presence/", {"status": status})
                self.tally.actions[f"presence {status}"] += 1
            elif queued and (not mine or roll < 0.35):
                await self.act("claim", self.rng.choice(queued))
            elif mine:
                await self.work_on(self.rng.choice(mine))

    async def review(self) -> None:
        """A reviewer decides one of the open tasks on their list."""
        tasks = REVIEWS.findall(await self.get("review list", "/desk/reviews/rows/"))
        if not tasks:
            return
        decision = self.rng.choice(["approve", "approve", "reject", "respond"])
        data = {"decision": decision, "comment": "Not eligible.", "message": "A colleague will follow up by email."}
        status, _ = await self.post(decision, f"/desk/reviews/{self.rng.choice(tasks)}/decide/", data)
        self.tally.actions[f"{decision} {'done' if status < 400 else 'refused'}"] += 1

    async def work_on(self, conversation_id: str) -> None:
        roll = self.rng.random()
        if roll < 0.45:
            await self.act("reply", conversation_id, {"content": "Thanks for waiting, here is what I found."})
        elif roll < 0.75:
            page = await self.get("workspace", f"/desk/conversations/{conversation_id}/resync/")
            seen = SEEN_THROUGH.search(page)
            await self.act("resolve", conversation_id, {"seen_through": seen.group(1) if seen else "0"})
        elif roll < 0.87:
            await self.act("release", conversation_id)
        else:
            await self.act("return-to-ai", conversation_id)

    async def act(self, action: str, conversation_id: str, data: dict | None = None) -> None:
        status, _ = await self.post(action, f"/desk/conversations/{conversation_id}/{action}/", data)
        outcome = "done" if status < 400 else "refused"
        self.tally.actions[f"{action} {outcome}"] += 1


# The console -------------------------------------------------------------------------------


def prepare(agents: int) -> tuple[Inbox, list[str]]:
    call_command("migrate", verbosity=0)
    call_command("install_schedules", verbosity=0)
    from agents.demo_data import intent_examples_ensure
    from agents.demo_shop.services import demo_orders_ensure
    from agents.knowledge.services import knowledge_demo_ensure

    intent_examples_ensure()
    knowledge_demo_ensure()
    demo_orders_ensure()
    agent, _ = support_agent_ensure()
    AIAgent.objects.filter(pk=agent.pk).update(turn_limit=1000)
    inbox, _ = inbox_ensure(name="Soak shop", allowed_origins=[], greeting="Hi")
    Conversation.objects.filter(inbox=inbox).delete()  # each soak checks its own conversations
    Inbox.objects.filter(pk=inbox.pk).update(auto_assignment="balanced", offline_grace_seconds=10, sla_claim_seconds=30)
    inbox = inbox_assign_ai_agent(inbox.pk, agent)
    role_groups_ensure()
    from django.contrib.auth import get_user_model

    sessions = []
    for number in range(agents):
        user, _ = get_user_model().objects.get_or_create(username=f"soak-agent-{number}")
        user_grant_role(user, SUPERVISOR if number == 0 else SUPPORT_AGENT)
        human_agent_profile_ensure(user, skills=["orders", "billing", "accounts", "escalations"], max_concurrent=4)
        inbox_grant(user, inbox)
        sessions.append(session_for(user))
    # The supervisor (the first agent) also decides refunds.
    tool_approvers_grant(get_user_model().objects.get(username="soak-agent-0"), "request_refund")
    return inbox, sessions


def start_beat() -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": settings.DATABASE_URL, "REDIS_URL": settings.REDIS_URL, "DEBUG": "false"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hilconsole", "beat", "--loglevel=WARNING",
         "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"],
        cwd=infra_floor.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def rss_mb(process: subprocess.Popen) -> float:
    """Resident memory of a process and its children (uvicorn's and Celery's workers)."""
    parent = psutil.Process(process.pid)
    return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20


def settle(timeout: float) -> float:
    """Wait until no turn runs and no conversation is with the AI mid-turn; returns the wait."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        busy = PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING).exists() or (
            Conversation.objects.filter(status=S.AI_PROCESSING).exists()
        )
        unanswered = any(waiting_messages(c) for c in Conversation.objects.filter(status__in=[S.NEW, S.BACK_TO_AI]))
        if not busy and not unanswered:
            return time.monotonic() - started
        time.sleep(1)
    return time.monotonic() - started


# Invariants --------------------------------------------------------------------------------


def violations(inbox: Inbox, tally: Tally) -> list[str]:
    found = [f"server error: {error}" for error in tally.server_errors]
    conversations = Conversation.objects.filter(inbox=inbox)
    # With the AI mid-turn is allowed only while a reviewer's decision is awaited.
    stuck = conversations.filter(status=S.AI_PROCESSING).exclude(review_tasks__status="open")
    found += [f"#{pk} left in ai_processing" for pk in stuck.values_list("pk", flat=True)]
    found += actions_not_exactly_once(inbox)
    running = PipelineRun.objects.filter(conversation__inbox=inbox, status=PipelineRun.Status.RUNNING)
    found += [f"run {pk} left running" for pk in running.values_list("pk", flat=True)]
    for conversation in conversations:
        found += unanswered(conversation) + duplicate_replies(conversation) + audit_mismatch(conversation)
    return found


def unanswered(conversation: Conversation) -> list[str]:
    if conversation.status in (S.PENDING_HUMAN, S.HUMAN_ACTIVE) or conversation.review_tasks.filter(status="open"):
        return []  # a place in the human queue, with a person, or waiting for a reviewer's decision
    messages = list(conversation.messages.exclude(sender=Message.Sender.NOTE).values_list("pk", "sender"))
    last_reply = max((pk for pk, sender in messages if sender in (Message.Sender.AI, Message.Sender.HUMAN)), default=0)
    covered = max(last_reply, conversation.handled_through)
    return [
        f"#{conversation.pk} ({conversation.status}): customer message {pk} was never answered"
        for pk, sender in messages
        if sender == Message.Sender.CUSTOMER and pk > covered
    ]


def actions_not_exactly_once(inbox: Inbox) -> list[str]:
    """Every approved action ran once, under its task's key; no gated tool ran without approval."""
    from agents.models import ToolCall

    problems = []
    tasks = ReviewTask.objects.filter(inbox=inbox, kind="tool_call")
    for task in tasks.filter(status__in=["approved", "edited"]).exclude(run__status="waiting"):
        calls = ToolCall.objects.filter(idempotency_key=task.idempotency_key).count()
        if calls != 1:
            problems.append(f"review task {task.pk} was approved and its action ran {calls} times")
    gated = ToolCall.objects.filter(conversation__inbox=inbox, tool__risk="gated")
    approved = tasks.filter(status__in=["approved", "edited"]).values_list("idempotency_key", flat=True)
    unapproved = gated.exclude(idempotency_key__in=approved).values_list("pk", flat=True)
    return problems + [f"tool call {pk} ran without an approval" for pk in unapproved]


def duplicate_replies(conversation: Conversation) -> list[str]:
    keys = Counter(
        (metadata.get("run_id"), bool(metadata.get("handover")), bool(metadata.get("holding")))
        for metadata in conversation.messages.filter(sender=Message.Sender.AI).values_list("metadata", flat=True)
    )
    return [f"#{conversation.pk}: run {run} sent {count} replies" for (run, *_), count in keys.items() if count > 1]


def audit_mismatch(conversation: Conversation) -> list[str]:
    """The conversation is where its audit log says it last moved, with the person it says."""
    events = AuditEvent.objects.filter(target_type="conversations.conversation", target_id=str(conversation.pk))
    moved = events.filter(after__has_key="status").order_by("-id").values_list("after", flat=True).first()
    handed = events.filter(after__has_key="assignee").order_by("-id").values_list("after", flat=True).first()
    problems = []
    if moved and moved["status"] != conversation.status:
        problems.append(f"#{conversation.pk} is {conversation.status}, its audit log says {moved['status']}")
    if handed and conversation.status == S.HUMAN_ACTIVE and handed["assignee"] != conversation.assignee_id:
        problems.append(
            f"#{conversation.pk} is with {conversation.assignee_id}, its audit log says {handed['assignee']}"
        )
    return problems


# Running it --------------------------------------------------------------------------------


async def load(base: str, inbox: Inbox, sessions: list[str], args, tally: Tally, memory: dict, processes) -> None:
    rng = random.Random(args.seed)
    timeout = ClientTimeout(total=30)
    async with ClientSession(connector=TCPConnector(limit=100), timeout=timeout) as session:
        agents = [Agent(session, base, key, tally, random.Random(rng.random())) for key in sessions]
        agents[0].reviewer = True
        for agent in agents:
            await agent.sign_in()
        customers = [
            Customer(
                session, base, inbox, tally, random.Random(rng.random()), ACCOUNTS[n] if n < len(ACCOUNTS) else None
            )
            for n in range(args.customers)
        ]
        stop_at = time.monotonic() + args.seconds

        async def measure_memory_after_warm_up():
            await asyncio.sleep(min(20, args.seconds / 3))
            memory["start"] = {name: rss_mb(process) for name, process in processes.items()}
            memory["conversations_at_start"] = await asyncio.to_thread(
                lambda: Conversation.objects.filter(inbox=inbox).count()
            )

        await asyncio.gather(
            measure_memory_after_warm_up(),
            *(agent.keep_desk_open(stop_at) for agent in agents),
            *(agent.work(stop_at) for agent in agents),
            *(customer.chat(stop_at) for customer in customers),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", "300")))
    parser.add_argument("--customers", type=int, default=12)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--settle-seconds", type=float, default=120)
    args = parser.parse_args()

    inbox, sessions = prepare(args.agents)
    port = free_port()
    processes = {
        "web": infra_floor.start_server(port, processes=2, **SOAK_ENVIRONMENT),
        "worker": infra_floor.start_worker("soak", processes=2),
    }
    beat = start_beat()
    tally, memory = Tally(), {}
    started = time.monotonic()
    try:
        asyncio.run(load(f"http://127.0.0.1:{port}", inbox, sessions, args, tally, memory, processes))
        loaded = time.monotonic() - started
        settled = settle(args.settle_seconds)
        memory["end"] = {name: rss_mb(process) for name, process in processes.items()}
        problems = violations(inbox, tally)
        report(args, inbox, tally, loaded, settled, memory, problems)
    finally:
        infra_floor.stop(*processes.values(), beat)
    sys.exit(1 if problems else 0)


def report(args, inbox: Inbox, tally: Tally, loaded: float, settled: float, memory: dict, problems) -> None:
    print(f"soak: {args.customers} customers and {args.agents} agents for {loaded:.0f} s (seed {args.seed}), "
          f"settled in {settled:.0f} s, on {os.cpu_count()} cores")  # fmt: skip
    conversations = Conversation.objects.filter(inbox=inbox).count()
    messages = Message.objects.filter(conversation__inbox=inbox)
    by_sender = Counter(messages.values_list("sender", flat=True))
    print(f"conversations {conversations}; messages: " + ", ".join(f"{k} {v}" for k, v in sorted(by_sender.items())))
    print("actions: " + ", ".join(f"{name} {count}" for name, count in sorted(tally.actions.items())))
    print("answers: " + ", ".join(f"{name} {count}" for name, count in sorted(tally.statuses.items())))
    grown = conversations - memory.get("conversations_at_start", conversations)
    for name in ("web", "worker"):
        start, end = memory.get("start", {}).get(name), memory["end"][name]
        per_thousand = (end - start) / grown * 1000 if start is not None and grown else float("nan")
        print(f"memory {name}: {end:.0f} MB, {end - (start or end):+.1f} MB over {grown} conversations "
              f"({per_thousand:+.1f} MB per 1,000)")  # fmt: skip
    print(f"violations: {len(problems)}")
    for problem in problems[:50]:
        print(f"  {problem}")


if __name__ == "__main__":
    main()
