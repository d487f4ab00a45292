"""How AI turns per second scale with web processes and Celery worker nodes.

The console runs as docs/deploy.md lays it out: separate web processes (uvicorn, one process
each, on their own ports, as machines behind a load balancer) and separate worker nodes (each a
Celery worker with its own name and BENCH_NODE_PROCESSES pool processes), on one PostgreSQL and
one Redis, with the embedded local model. For 1 and 2 web processes × 1 and 2 worker nodes,
BENCH_CUSTOMERS customers (spread over the web processes) chat back to back for BENCH_SECONDS
(turn_overhead's load generator), and the table shows turns per second and the speed-up over one
of each. Every process and the load generator share this machine's cores: on a machine with as
many cores as processes the table shows how the console scales; on two cores it mostly shows
where the cores run out.

Runs on its own embedded services (var/bench) unless DATABASE_URL / REDIS_URL are set.
"""

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infra_floor  # noqa: E402  (sets up Django on the benchmark's services)
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from turn_overhead import CUSTOMERS, SECONDS, prepare_inbox, sequential_turns_warmup, throughput  # noqa: E402

from conversations.models import Conversation  # noqa: E402
from hilconsole.celery import app as celery_app  # noqa: E402

NODE_PROCESSES = int(os.environ.get("BENCH_NODE_PROCESSES", "1"))
NODES = ("bench-scale-1", "bench-scale-2")


def consume(node: str, on: bool) -> None:
    """Let a started worker node take tasks from every queue, or from none (it stays warm)."""
    control = celery_app.control.add_consumer if on else celery_app.control.cancel_consumer
    for queue in settings.CELERY_TASK_QUEUES:
        assert control(queue, destination=[f"{node}@localhost"], reply=True, timeout=10), f"{node} did not answer"


def main() -> None:
    call_command("migrate", verbosity=0)
    inbox = prepare_inbox()
    Conversation.objects.filter(inbox=inbox).delete()
    connection.close()
    load_before = os.getloadavg()
    processes = [infra_floor.start_worker(node, NODE_PROCESSES) for node in NODES]
    servers, bases = infra_floor.start_web(2)
    processes += servers
    rows = []
    try:
        for base in bases:  # every process loads the model and opens its connections first
            asyncio.run(sequential_turns_warmup(base, inbox))
        for webs in (1, 2):
            for nodes in (1, 2):
                consume(NODES[1], nodes == 2)
                answered, elapsed = asyncio.run(throughput(bases[:webs], inbox))
                # The machine's own load decides much of a row's figure when others share it.
                rows.append((webs, nodes, answered, answered / elapsed, os.getloadavg()[0]))
    finally:
        infra_floor.stop(*processes)
    report(rows, load_before, os.getloadavg())


def report(rows, load_before, load_after) -> None:
    print(f"scale_out: {CUSTOMERS} customers back to back for {SECONDS:g}s per row, local model;")
    print(f"  web process = uvicorn with 1 process; worker node = Celery worker with {NODE_PROCESSES} pool process(es)")
    print(f"  all of them, PostgreSQL, Redis and the load generator on the same {os.cpu_count()} cores")
    print(f"  load average (1/5/15 min) before {_load(load_before)}, after {_load(load_after)}")
    print(f"{'web processes':>13} {'worker nodes':>12} {'turns':>7} {'turns/s':>8} {'speed-up':>9} {'load 1 min':>10}")
    base_rate = rows[0][3]
    for webs, nodes, answered, rate, load in rows:
        print(f"{webs:>13} {nodes:>12} {answered:>7} {rate:>8.1f} {rate / base_rate:>8.2f}× {load:>10.1f}")


def _load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.1f}" for value in load)


if __name__ == "__main__":
    main()
