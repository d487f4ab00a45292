"""Claims through the HTTP endpoint with 32 concurrent agents racing for the same handovers.

Every agent tries to claim every handover, in its own random order, as fast as the server
answers (POST /desk/conversations/<id>/claim/ with htmx headers: 200 won, 409 "Already claimed
by …"). Prints claim answers per second, p50/p95 latency of an answer, the p50's ratio to the
PostgreSQL commit floor, and the double claims: handovers that more than one agent won (by
the answers, and by the claims recorded in the audit log). Target: 0 double claims.

Runs on its own embedded services (var/bench) unless DATABASE_URL / REDIS_URL are set.
"""

import asyncio
import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infra_floor  # noqa: E402  (sets up Django on the benchmark's services)
from aiohttp import ClientSession, TCPConnector  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

# isort: split
import desk_cast  # noqa: E402  (after infra_floor: it needs Django set up)

from conversations.models import AuditEvent  # noqa: E402
from hilconsole import embedded  # noqa: E402
from tests.processes import free_port  # noqa: E402

AGENTS = int(os.environ.get("BENCH_AGENTS", "32"))
HANDOVERS = int(os.environ.get("BENCH_HANDOVERS", "200"))
WEB_PROCESSES = int(os.environ.get("BENCH_WEB_PROCESSES", "2"))


async def agent(session: ClientSession, base: str, session_key: str, handover_ids: list[int], answers: list) -> None:
    cookies = {"sessionid": session_key}
    async with session.get(f"{base}/desk/", cookies=cookies) as response:  # the page sets the CSRF cookie
        await response.read()
        csrf = response.cookies["csrftoken"].value
    headers = {"HX-Request": "true", "X-CSRFToken": csrf}
    cookies["csrftoken"] = csrf
    for conversation_id in random.sample(handover_ids, len(handover_ids)):
        started = time.perf_counter()
        async with session.post(
            f"{base}/desk/conversations/{conversation_id}/claim/", headers=headers, cookies=cookies
        ) as response:
            body = await response.text()
        answers.append((conversation_id, session_key, response.status, (time.perf_counter() - started) * 1000, body))


async def race(base: str, sessions: list[str], handover_ids: list[int]) -> tuple[list, float]:
    answers: list = []
    async with ClientSession(connector=TCPConnector(limit=0)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(agent(session, base, key, handover_ids, answers) for key in sessions))
        return answers, time.perf_counter() - started


def main() -> None:
    call_command("migrate", verbosity=0)
    inbox, sessions = desk_cast.inbox_with_agents("Bench claims", AGENTS)
    handover_ids = []
    for _ in range(HANDOVERS):
        conversation_id = desk_cast.conversation_with_the_ai(inbox)
        desk_cast.hand_over(conversation_id)
        handover_ids.append(conversation_id)
    pg_floor = statistics.median(infra_floor.postgres_commit())
    connection.close()
    port = free_port()
    server = desk_cast.start_server(port, WEB_PROCESSES)
    try:
        answers, elapsed = asyncio.run(race(f"http://127.0.0.1:{port}", sessions, handover_ids))
        claimed = Counter(
            AuditEvent.objects.filter(action="conversation.claimed", target_id__in=[str(i) for i in handover_ids])
            .values_list("target_id", flat=True)
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(30)
        if settings.EMBEDDED_SERVICES is not None and not os.environ.get("BENCH_KEEP_SERVICES"):
            embedded.stop(settings.EMBEDDED_SERVICES)

    statuses = Counter(status for _, _, status, _, _ in answers)
    wins = Counter(conversation_id for conversation_id, _, status, _, _ in answers if status == 200)
    latencies = [latency for *_, latency, _ in answers]
    told_the_winner = sum(1 for *_, status, _, body in answers if status == 409 and "Already claimed by" in body)
    double_by_answers = sum(1 for count in wins.values() if count > 1)
    double_by_audit = sum(1 for count in claimed.values() if count > 1)
    p50, p95 = statistics.median(latencies), infra_floor.p95(latencies)
    print(f"claim_race: {AGENTS} agents × {HANDOVERS} handovers through uvicorn ({WEB_PROCESSES} processes)")
    print(f"  every agent claims every handover in its own order; the client shares the {os.cpu_count()} cores")
    print(f"  PostgreSQL commit floor (infra_floor): p50 {pg_floor:.3f} ms")
    print(f"{'answers':>8} {'answers/s':>10} {'won':>5} {'won/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p50/pg floor':>13}")
    print(
        f"{len(answers):>8} {len(answers) / elapsed:>10.0f} {statuses[200]:>5} {statuses[200] / elapsed:>7.0f}"
        f" {p50:>8.2f} {p95:>8.2f} {p50 / pg_floor:>13.1f}"
    )
    print(f"  answers by status: {dict(sorted(statuses.items()))}; refusals naming the winner: {told_the_winner}")
    print(f"  handovers claimed: {len(wins)} of {HANDOVERS} (audit log: {len(claimed)})")
    verdict = "met" if double_by_answers == double_by_audit == 0 and len(wins) == HANDOVERS else "missed"
    print(f"target 0 double claims: {verdict} (by the answers {double_by_answers}, by the audit log {double_by_audit})")


if __name__ == "__main__":
    main()
