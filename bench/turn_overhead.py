"""What an AI turn costs the platform, with the embedded local model.

Latency: BENCH_TURNS turns, one at a time, each on a fresh conversation of an inbox answered by
the shipped support pipeline: the time from the widget's POST to the AI reply arriving on the
widget socket, p50/p95, broken down by stage from the rows the turn wrote (ingest, enqueue and
pickup, each node, persist, fan-out). "Platform" is that time minus the model calls themselves
(LLMCall latency, local model included); its p50 is compared with the sum of the floors of
`infra_floor` (PostgreSQL commit, Redis round trip, Celery no-op, Channels round trip).
Throughput: BENCH_CUSTOMERS customers chatting back to back for BENCH_SECONDS against one
worker of 2 processes: turns answered per second, and the CPU time each turn cost the worker, the
web server, the load generator, and the embedded PostgreSQL and Redis (their processes' own CPU
time: a figure that other work on the same cores does not inflate the way it inflates the clock).

Targets: platform p50 <= 30 ms, p95 <= 60 ms; >= 50 turns/s.
Runs on its own embedded services (var/bench) unless DATABASE_URL / REDIS_URL are set.
"""

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infra_floor  # noqa: E402  (sets up Django on the benchmark's services)
import psutil  # noqa: E402
from aiohttp import ClientSession, TCPConnector  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402
from widget_ingest import start_conversation  # noqa: E402

from agents.demo_data import intent_examples_ensure  # noqa: E402
from agents.knowledge.services import knowledge_demo_ensure  # noqa: E402
from agents.models import AIAgent, LLMCall, PipelineRun  # noqa: E402
from agents.pipelines.defaults import support_agent_ensure  # noqa: E402
from conversations.models import Conversation, Message  # noqa: E402
from conversations.services import inbox_assign_ai_agent, inbox_ensure  # noqa: E402

TURNS = int(os.environ.get("BENCH_TURNS", "500"))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "16"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
WORKER_PROCESSES = 2
WEB_PROCESSES = 2
QUESTIONS = [
    "How long does shipping take?",
    "Do you ship to Switzerland?",
    "Which payment methods do you accept?",
    "What is your return policy?",
    "How long is a gift card valid?",
    "Is there a warranty on your products?",
]
TARGET_P50_MS, TARGET_P95_MS, TARGET_TURNS_PER_SECOND = 30.0, 60.0, 50.0


def prepare_inbox():
    intent_examples_ensure()
    knowledge_demo_ensure()
    agent, _ = support_agent_ensure()
    # Back-to-back customers: the bench measures turns, not the limit on AI replies in a row.
    AIAgent.objects.filter(pk=agent.pk).update(turn_limit=10_000)
    inbox, _ = inbox_ensure(name="Bench support", allowed_origins=[], greeting="Hi")
    return inbox_assign_ai_agent(inbox.pk, agent)


class Widget:
    def __init__(self, session: ClientSession, base: str, inbox, customer: dict | None = None):
        self.session, self.base, self.inbox, self.customer = session, base, inbox, customer

    async def open(self):
        self.conversation_id, self.token = await start_conversation(self.session, self.base, self.inbox, self.customer)
        self.socket = await self.session.ws_connect(
            f"{self.base.replace('http', 'ws')}/ws/widget/{self.conversation_id}/"
        )
        await self.socket.send_json({"type": "auth", "token": self.token})
        assert json.loads((await self.socket.receive(timeout=10)).data) == {"type": "ready"}
        return self

    async def turn(self, question: str) -> tuple[float, float]:
        """(sent at, reply received at), wall clock, seconds."""
        url = f"{self.base}/api/widget/v1/conversations/{self.conversation_id}/messages"
        sent_at = time.time()
        body = {"content": question, "client_message_id": uuid.uuid4().hex}
        async with self.session.post(url, json=body, headers={"Authorization": f"Bearer {self.token}"}) as response:
            await response.read()
        while True:
            frame = json.loads((await self.socket.receive(timeout=30)).data)
            if frame["type"] == "message" and frame["message"]["sender"] == "ai":
                return sent_at, time.time()

    async def close(self):
        await self.socket.close()


async def sequential_turns(base: str, inbox) -> dict[int, tuple[float, float]]:
    timings = {}
    async with ClientSession(connector=TCPConnector(limit=4)) as session:
        for number in range(TURNS):
            widget = await Widget(session, base, inbox).open()
            timings[widget.conversation_id] = await widget.turn(QUESTIONS[number % len(QUESTIONS)])
            await widget.close()
    return timings


async def throughput(bases: list[str], inbox) -> tuple[int, float]:
    """Turns answered in SECONDS by CUSTOMERS customers chatting back to back, spread over the
    web servers at `bases` as a load balancer would spread them; and the seconds it took."""
    answered = 0

    async def chat(widget, stop_at):
        nonlocal answered
        number = 0
        while time.perf_counter() < stop_at:
            await widget.turn(QUESTIONS[number % len(QUESTIONS)])
            answered += 1
            number += 1

    async with ClientSession(connector=TCPConnector(limit=CUSTOMERS * 2)) as session:
        widgets = [await Widget(session, bases[number % len(bases)], inbox).open() for number in range(CUSTOMERS)]
        started = time.perf_counter()
        await asyncio.gather(*(chat(widget, started + SECONDS) for widget in widgets))
        elapsed = time.perf_counter() - started
        for widget in widgets:
            await widget.close()
    return answered, elapsed


def cpu_by_process(worker: subprocess.Popen, servers: list[subprocess.Popen]) -> dict[str, float]:
    """CPU seconds each part of the platform used so far: the worker, the web servers, this
    load generator and, when embedded, PostgreSQL and Redis."""
    used = {
        "worker": cpu_seconds(worker.pid),
        "web": sum(cpu_seconds(server.pid) for server in servers),
        "load generator": time.process_time(),
    }
    return used | {name: cpu_seconds(pid) for name, pid in infra_floor.service_pids().items()}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its living children used so far."""
    parent = psutil.Process(pid)
    used = 0.0
    for process in [parent, *parent.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):  # a child that ended meanwhile
            used += sum(process.cpu_times()[:2])
    return used


def stages(timings: dict[int, tuple[float, float]]) -> dict[str, list[float]]:
    """Milliseconds per stage and turn, from the rows each turn wrote."""
    found = defaultdict(list)
    runs = PipelineRun.objects.filter(conversation_id__in=timings).prefetch_related("steps")
    model_ms = dict(
        LLMCall.objects.filter(conversation_id__in=timings).values_list("conversation_id").annotate(Sum("latency_ms"))
    )
    for run in runs:
        sent_at, received_at = timings[run.conversation_id]
        question = Message.objects.get(conversation_id=run.conversation_id, sender="customer")
        reply = Message.objects.get(conversation_id=run.conversation_id, sender="ai")
        total = (received_at - sent_at) * 1000
        found["end to end"].append(total)
        found["platform (end to end - model calls)"].append(total - model_ms.get(run.conversation_id, 0))
        found["  ingest (POST → message stored)"].append((question.created_at.timestamp() - sent_at) * 1000)
        timing = run.state["timing"]
        found["  enqueue (stored → task sent)"].append(
            (timing["requested_at"] - question.created_at.timestamp()) * 1000
        )
        found["  pickup (task sent → worker starts)"].append((timing["picked_up_at"] - timing["requested_at"]) * 1000)
        found["  run start (lock, run created)"].append((run.started_at.timestamp() - timing["picked_up_at"]) * 1000)
        for step in run.steps.all():
            label = f"  node {step.node} ({step.node_type})" if step.node_type != "finish" else "  persist reply"
            found[label].append(step.latency_ms)
        found["  fan-out (reply stored → socket)"].append((received_at - reply.created_at.timestamp()) * 1000)
        found["  model calls (LLMCall latency)"].append(model_ms.get(run.conversation_id, 0))
    return found


def main() -> None:
    call_command("migrate", verbosity=0)
    inbox = prepare_inbox()
    Conversation.objects.filter(inbox=inbox).delete()
    worker = infra_floor.start_worker("bench-turns", WORKER_PROCESSES)
    floors = infra_floor.floor_medians()
    connection.close()
    servers, bases = infra_floor.start_web(WEB_PROCESSES)
    try:
        for base in bases:  # every web process opens its connections first
            asyncio.run(sequential_turns_warmup(base, inbox))
        timings = asyncio.run(sequential_turns(bases[0], inbox))
        before = cpu_by_process(worker, servers)
        answered, elapsed = asyncio.run(throughput(bases, inbox))
        after = cpu_by_process(worker, servers)
        cpu = {name: (after[name] - before[name]) * 1000 / answered for name in before}
        found = stages(timings)
    finally:
        infra_floor.stop(*servers, worker)
    report(found, floors, answered, elapsed, cpu)


async def sequential_turns_warmup(base: str, inbox) -> None:
    """A few turns first, so the worker's processes have loaded the model and opened connections."""
    async with ClientSession() as session:
        for question in QUESTIONS:
            widget = await Widget(session, base, inbox).open()
            await widget.turn(question)
            await widget.close()


def report(
    found: dict[str, list[float]], floors: dict[str, float], answered: int, elapsed: float, cpu: dict[str, float]
) -> None:
    floor_sum = sum(floors.values())
    print(f"turn_overhead: {len(found['end to end'])} turns one at a time, widget POST → AI reply on the socket")
    print(f"  local model; {WEB_PROCESSES} uvicorn processes on their own ports, Celery worker {WORKER_PROCESSES}"
          f" processes, load generator on the same {os.cpu_count()} cores")  # fmt: skip
    print(infra_floor.floors_line(floors))
    print(f"{'stage':<42} {'p50 ms':>9} {'p95 ms':>9} {'p50/floors':>11}")
    for label, samples in found.items():
        p50, p95 = statistics.median(samples), infra_floor.p95(samples)
        print(f"{label:<42} {p50:>9.2f} {p95:>9.2f} {p50 / floor_sum:>11.1f}")
    platform = found["platform (end to end - model calls)"]
    p50, p95 = statistics.median(platform), infra_floor.p95(platform)
    rate = answered / elapsed
    print(f"throughput: {CUSTOMERS} customers back to back for {elapsed:.1f}s: {answered} turns, {rate:.1f} turns/s")
    shown = ", ".join(f"{name} {ms:.1f}" for name, ms in cpu.items())
    print(f"  CPU per turn, ms: {shown}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"target platform p50 <= {TARGET_P50_MS:.0f} ms: {'met' if p50 <= TARGET_P50_MS else 'missed'} ({p50:.1f})")
    print(f"target platform p95 <= {TARGET_P95_MS:.0f} ms: {'met' if p95 <= TARGET_P95_MS else 'missed'} ({p95:.1f})")
    verdict = "met" if rate >= TARGET_TURNS_PER_SECOND else "missed"
    print(f"target >= {TARGET_TURNS_PER_SECOND:.0f} turns/s: {verdict} ({rate:.1f})")


if __name__ == "__main__":
    main()
