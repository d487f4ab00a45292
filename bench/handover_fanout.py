"""How fast a new handover reaches every desk: 200 desk sockets open on one inbox while
handovers are created at a rising rate.

For each rate: p50/p95 of the time from the handover's commit to its queue row arriving on a
socket (every socket counts), and the delivery ratio (rows received / handovers × sockets).
Target: p95 ≤ 100 ms at 20 handovers/s with 100% delivered.

Runs on its own embedded services (var/bench) unless DATABASE_URL / REDIS_URL are set.
"""

import asyncio
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infra_floor  # noqa: E402  (sets up Django on the benchmark's services)
from aiohttp import ClientSession, ClientTimeout, TCPConnector, WSMsgType  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from guardian.shortcuts import assign_perm  # noqa: E402

from conversations import services as conversations  # noqa: E402
from conversations.models import Conversation, Inbox  # noqa: E402
from hilconsole import embedded  # noqa: E402
from reviews.models import HumanAgent  # noqa: E402
from reviews.roles import SUPPORT_AGENT, role_groups_ensure  # noqa: E402
from tests.processes import free_port  # noqa: E402

SOCKETS = int(os.environ.get("BENCH_SOCKETS", "200"))
RATES = [float(rate) for rate in os.environ.get("BENCH_RATES", "5,10,20,40").split(",")]
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
WEB_PROCESSES = int(os.environ.get("BENCH_WEB_PROCESSES", "2"))
DRAIN_SECONDS = 2.0
TARGET_RATE, TARGET_P95_MS = 20.0, 100.0
QUEUE_ROW = re.compile(rb'<li id="queue-(\d+)" class')


# The cast, shared with claim_race.py --------------------------------------------------------


def inbox_with_agents(name: str, agents: int, *, max_concurrent: int = 1000) -> tuple[Inbox, list[str]]:
    """An inbox, `agents` support agents who work it (through one group), and their session keys."""
    role_groups_ensure()
    inbox, _ = Inbox.objects.get_or_create(name=name, defaults={"allowed_origins": []})
    team, _ = Group.objects.get_or_create(name=f"{name} team")
    assign_perm("conversations.work_inbox", team, inbox)
    User = get_user_model()
    sessions = []
    for number in range(agents):
        user, _ = User.objects.get_or_create(username=f"{name.lower().replace(' ', '-')}-{number}")
        user.groups.add(team, Group.objects.get(name=SUPPORT_AGENT))
        HumanAgent.objects.update_or_create(user=user, defaults={"max_concurrent": max_concurrent, "skills": []})
        sessions.append(session_for(user))
    return inbox, sessions


def session_for(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "reviews.roles.DeskUserBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def conversation_with_the_ai(inbox: Inbox) -> int:
    """A customer's conversation the AI is working on: the next step is a handover."""
    conversation, _, _ = conversations.conversation_open(inbox, name="Bench customer")
    conversations.conversation_start_ai(conversation.pk)
    return conversation.pk


def hand_over(conversation_id: int) -> Conversation:
    brief = {"summary": "Asks where the parcel is", "intent": "order_status", "confidence": 0.4}
    return conversations.conversation_hand_over(conversation_id, reason="human_request", **brief)


# Fan-out -----------------------------------------------------------------------------------


class Deliveries:
    """Commit times of handovers and the arrival times of their rows on every socket."""

    def __init__(self):
        self.committed: dict[int, float] = {}
        self.latencies: dict[int, list[float]] = {}

    def arrived(self, conversation_id: int, at: float) -> None:
        self.latencies.setdefault(conversation_id, []).append(at)


def create_handovers(conversation_ids: list[int], rate: float, deliveries: Deliveries) -> None:
    """In a thread, as the AI pipeline would: one handover every 1/rate seconds."""
    next_at = time.perf_counter()
    try:
        for conversation_id in conversation_ids:
            time.sleep(max(0.0, next_at - time.perf_counter()))
            with transaction.atomic():
                # Registered first, so it runs right after COMMIT and before the broadcasts.
                transaction.on_commit(lambda cid=conversation_id: deliveries.committed.__setitem__(cid, time.time()))
                hand_over(conversation_id)
            next_at += 1 / rate
    finally:
        connection.close()


async def desk(session, url, session_key, origin, deliveries, ready, stop):
    async with session.ws_connect(url, headers={"Cookie": f"sessionid={session_key}", "Origin": origin}) as socket:
        ready.release()
        while not stop.is_set():
            try:
                message = await socket.receive(timeout=0.5)
            except TimeoutError:
                continue
            if message.type != WSMsgType.TEXT:
                break
            arrived = time.time()
            for match in QUEUE_ROW.finditer(message.data.encode()):
                deliveries.arrived(int(match.group(1)), arrived)


async def run_rate(base: str, sessions: list[str], conversation_ids: list[int], rate: float) -> Deliveries:
    deliveries, ready, stop = Deliveries(), asyncio.Semaphore(0), asyncio.Event()
    connector = TCPConnector(limit=0)
    async with ClientSession(connector=connector, timeout=ClientTimeout(total=None)) as session:
        url = base.replace("http", "ws") + "/ws/desk/"
        desks = [
            asyncio.create_task(desk(session, url, key, base, deliveries, ready, stop)) for key in sessions
        ]  # fmt: skip
        for _ in sessions:
            await asyncio.wait_for(ready.acquire(), 30)
        await asyncio.sleep(0.5)  # every socket has joined its groups
        await asyncio.to_thread(create_handovers, conversation_ids, rate, deliveries)
        await asyncio.sleep(DRAIN_SECONDS)
        stop.set()
        await asyncio.gather(*desks, return_exceptions=True)
    return deliveries


def figures(deliveries: Deliveries, handovers: int) -> tuple[float, float, float]:
    latencies = [
        (arrived - deliveries.committed[cid]) * 1000
        for cid, arrivals in deliveries.latencies.items()
        if cid in deliveries.committed
        for arrived in arrivals
    ]
    ratio = len(latencies) / (handovers * SOCKETS)
    return statistics.median(latencies), infra_floor.p95(latencies), ratio


def main() -> None:
    call_command("migrate", verbosity=0)
    inbox, sessions = inbox_with_agents("Bench fanout", SOCKETS)
    plan = {rate: [conversation_with_the_ai(inbox) for _ in range(int(rate * SECONDS))] for rate in RATES}
    connection.close()
    port = free_port()
    server = infra_floor.start_server(port, WEB_PROCESSES)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        for rate, conversation_ids in plan.items():
            deliveries = asyncio.run(run_rate(base, sessions, conversation_ids, rate))
            rows.append((rate, len(conversation_ids), *figures(deliveries, len(conversation_ids))))
    finally:
        server.terminate()
        server.wait(30)
        if settings.EMBEDDED_SERVICES is not None and not os.environ.get("BENCH_KEEP_SERVICES"):
            embedded.stop(settings.EMBEDDED_SERVICES)

    print(f"handover_fanout: {SOCKETS} desk sockets on one inbox, uvicorn ({WEB_PROCESSES} processes)")
    print(f"  {SECONDS:g}s of handovers at each rate, then {DRAIN_SECONDS:g}s to drain")
    print(f"  commit of the handover → its queue row on each socket; the client shares the {os.cpu_count()} cores")
    print(f"{'handovers/s':>11} {'handovers':>9} {'p50 ms':>8} {'p95 ms':>8} {'delivered':>10}")
    for rate, handovers, p50, p95, ratio in rows:
        print(f"{rate:>11g} {handovers:>9} {p50:>8.1f} {p95:>8.1f} {ratio:>10.2%}")
    at_target = next((row for row in rows if row[0] == TARGET_RATE), None)
    if at_target:
        _, _, _, p95, ratio = at_target
        met = p95 <= TARGET_P95_MS and ratio == 1.0
        print(
            f"target p95 ≤ {TARGET_P95_MS:.0f} ms with 100% delivered at {TARGET_RATE:g}/s:"
            f" {'met' if met else 'missed'}"
            f" (p95 {p95:.1f} ms = {p95 / TARGET_P95_MS:.2f} × target, {ratio:.2%} delivered)"
        )


if __name__ == "__main__":
    main()
