"""How fast the widget API accepts customer messages, through the real ASGI server.

With 1, 8 and 32 concurrent customers, for BENCH_SECONDS each: messages accepted per second,
p50 and p95 latency, and the p50's ratio to the PostgreSQL commit floor of `infra_floor`.
Two loads: saturation (each customer posts its next message as soon as the previous one is
accepted: the capacity of the machine) and customer pace (each customer posts one message a
second: the latency customers feel). Each row ends when the broker holds a turn request for every
accepted message (the web processes send them after answering), and says how long after the last
answer that was; "msgs/s with it" counts the rate over the window and that lag together, and the
target is judged on it. Targets: p50 <= 5 ms with one customer, and with 32 customers
at saturation >= 300 messages a second with p95 <= 150 ms.

Runs on its own embedded services (var/bench) unless DATABASE_URL / REDIS_URL are set.
"""

import asyncio
import functools
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infra_floor  # noqa: E402  (sets up Django on the benchmark's services)
import redis  # noqa: E402
from aiohttp import ClientSession, TCPConnector  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from conversations.models import Inbox  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
WARMUP_SECONDS = 1.0
CONCURRENCY = (1, 8, 32)
WEB_PROCESSES = int(os.environ.get("BENCH_WEB_PROCESSES", "2"))
TARGET_ONE_CUSTOMER_P50_MS = 5.0
TARGET_SATURATED_RATE, TARGET_SATURATED_P95_MS = 300.0, 150.0
# A brisk chat: one message a second from every customer at once.
PACE_SECONDS = float(os.environ.get("BENCH_PACE_SECONDS", "1"))
TURNS_QUEUE = settings.CELERY_TASK_ROUTES["agents.run_turn"]["queue"]


async def start_conversation(session: ClientSession, base: str, inbox: Inbox, customer=None) -> tuple[int, str]:
    """A widget conversation: anonymous, or as `customer` ({"identifier", "identifier_hash"}: signed in)."""
    async with session.post(
        f"{base}/api/widget/v1/conversations", json={"customer": customer or {}},
        headers={"X-Inbox-Token": inbox.widget_token},
    ) as response:  # fmt: skip
        body = await response.json()
        return body["conversation_id"], body["customer_token"]


async def customer(session, base, conversation, window, pace, latencies, refused, accepted):
    """One customer's messages: back to back (pace None) or one every `pace` seconds."""
    (conversation_id, token), (measure_from, stop_at) = conversation, window
    url = f"{base}/api/widget/v1/conversations/{conversation_id}/messages"
    headers = {"Authorization": f"Bearer {token}"}
    next_send = time.perf_counter() + (random.uniform(0, pace) if pace else 0)
    while next_send < stop_at:
        await asyncio.sleep(max(0.0, next_send - time.perf_counter()))
        started = time.perf_counter()
        body = {"content": "Where is my order 12345?", "client_message_id": uuid.uuid4().hex}
        async with session.post(url, json=body, headers=headers) as response:
            await response.read()
        elapsed = time.perf_counter() - started
        if response.status == 202:
            accepted.append(started)
        if started >= measure_from:
            (latencies.append(elapsed * 1000) if response.status == 202 else refused.append(response.status))
        next_send = next_send + pace if pace else time.perf_counter()


def turn_requests_queued() -> int:
    """Turn requests waiting in the broker (no worker runs during this benchmark)."""
    return broker().llen(TURNS_QUEUE)


@functools.cache
def broker() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def wait_for_turn_requests(expected: int, timeout: float = 30.0) -> float:
    """Seconds from now until the broker holds `expected` turn requests: each web process sends
    them from its sending thread after answering, and a figure that left that work undone would
    flatter the rate."""
    started = time.perf_counter()
    while turn_requests_queued() < expected and time.perf_counter() - started < timeout:
        time.sleep(0.005)
    if turn_requests_queued() < expected:
        raise RuntimeError(f"only {turn_requests_queued()} of {expected} turn requests reached the broker")
    return time.perf_counter() - started


async def load(bases: list[str], inbox: Inbox, customers: int, pace: float | None) -> tuple[list[float], list[int]]:
    """`customers` customers spread over the web processes at `bases`, as a load balancer would.
    Returns once every accepted message's turn request is in the broker."""
    latencies, refused, accepted = [], [], []
    queued_before = turn_requests_queued()
    async with ClientSession(connector=TCPConnector(limit=customers)) as session:
        placed = [bases[number % len(bases)] for number in range(customers)]
        conversations = [await start_conversation(session, base, inbox) for base in placed]
        now = time.perf_counter()
        window = (now + WARMUP_SECONDS, now + WARMUP_SECONDS + SECONDS)
        await asyncio.gather(
            *(
                customer(session, base, conversation, window, pace, latencies, refused, accepted)
                for base, conversation in zip(placed, conversations, strict=True)
            )
        )
    lag = wait_for_turn_requests(queued_before + len(accepted))
    return latencies, refused, lag


def rate_with_sends(latencies: list[float], lag: float) -> float:
    """Messages a second, counting the window until the last turn request was in the broker: a
    rate the web processes could keep up with their sending threads included."""
    return len(latencies) / (SECONDS + lag)


def print_table(title: str, rows, pg_floor: float) -> None:
    print(title)
    print(
        f"{'customers':>9} {'msgs/s':>9} {'p50 ms':>9} {'p95 ms':>9} {'p50/pg floor':>13} {'refused':>8}"
        f" {'last turn request queued':>25} {'msgs/s with it':>15}"
    )
    for customers, latencies, refused, lag in rows:
        p50, p95 = statistics.median(latencies), infra_floor.p95(latencies)
        rate = len(latencies) / SECONDS
        print(
            f"{customers:>9} {rate:>9.0f} {p50:>9.2f} {p95:>9.2f} {p50 / pg_floor:>13.1f} {len(refused):>8}"
            f" {1000 * lag:>19.0f} ms after {rate_with_sends(latencies, lag):>15.0f}"
        )


def main() -> None:
    call_command("migrate", verbosity=0)
    inbox, _ = Inbox.objects.get_or_create(name="Bench shop", defaults={"allowed_origins": []})
    pg_floor = statistics.median(infra_floor.postgres_commit())
    connection.close()
    servers, bases = infra_floor.start_web(WEB_PROCESSES)
    saturated, paced = [], []
    try:
        for customers in CONCURRENCY:
            saturated.append((customers, *asyncio.run(load(bases, inbox, customers, pace=None))))
        for customers in CONCURRENCY:
            paced.append((customers, *asyncio.run(load(bases, inbox, customers, pace=PACE_SECONDS))))
    finally:
        if "REDIS_URL" not in os.environ:  # the benchmark's own broker: nobody will run these turns
            broker().delete(TURNS_QUEUE)
        infra_floor.stop(*servers)

    print(
        f"widget_ingest: POST .../messages through {WEB_PROCESSES} uvicorn processes, each on its own port,"
        f" {SECONDS:.0f}s per row"
    )
    print(f"  after {WARMUP_SECONDS:.0f}s warm-up; the load generator shares the {os.cpu_count()} cores")
    print(f"  PostgreSQL commit floor (infra_floor): p50 {pg_floor:.3f} ms")
    print_table("saturation: every customer sends its next message as soon as one is accepted", saturated, pg_floor)
    print_table(f"customer pace: every customer sends one message every {PACE_SECONDS:g}s", paced, pg_floor)
    one_p50 = statistics.median(saturated[0][1])
    verdict = "met" if one_p50 <= TARGET_ONE_CUSTOMER_P50_MS else "missed"
    print(f"target p50 <= {TARGET_ONE_CUSTOMER_P50_MS:g} ms with one customer: {verdict} ({one_p50:.2f} ms)")
    customers, latencies, _, lag = saturated[-1]
    rate, p95 = rate_with_sends(latencies, lag), infra_floor.p95(latencies)
    met = rate >= TARGET_SATURATED_RATE and p95 <= TARGET_SATURATED_P95_MS
    print(
        f"target >= {TARGET_SATURATED_RATE:.0f} msgs/s with p95 <= {TARGET_SATURATED_P95_MS:.0f} ms, {customers} "
        f"customers at saturation: {'met' if met else 'missed'} ({rate:.0f} msgs/s, p95 {p95:.2f} ms)"
    )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
