"""Claims through the HTTP endpoint with 32 concurrent agents racing for the same handovers.

Two loads. Saturation: every agent tries to claim every handover, in its own random order,
as fast as the server answers (POST /desk/conversations/<id>/claim/ with htmx headers: 200
won, 409 "Already claimed by …"): the machine's capacity. Desk pace: a handover appears every
PACE_SECONDS and all agents click Claim on it within a human reaction time (0-300 ms): the
latency agents feel. Prints answers per second, p50/p95 latency of an answer, the p50's ratio
to the PostgreSQL commit floor, and the double claims: handovers that more than one agent won
(by the answers, and by the claims recorded in the audit log). Targets: 0 double claims, and at
saturation >= 500 answers a second.

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
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

# isort: split
import handover_fanout  # noqa: E402  (its cast of agents and handovers, and its server)

from conversations.models import AuditEvent  # noqa: E402

AGENTS = int(os.environ.get("BENCH_AGENTS", "32"))
HANDOVERS = int(os.environ.get("BENCH_HANDOVERS", "200"))
WEB_PROCESSES = int(os.environ.get("BENCH_WEB_PROCESSES", "2"))
PACED_HANDOVERS = int(os.environ.get("BENCH_PACED_HANDOVERS", "20"))
PACE_SECONDS = float(os.environ.get("BENCH_PACE_SECONDS", "0.5"))
REACTION_SECONDS = 0.3
TARGET_SATURATED_RATE = 500.0


class Agent:
    """One signed-in agent's browser: its cookies and CSRF token."""

    def __init__(self, session: ClientSession, base: str, session_key: str):
        self.session, self.base, self.cookies = session, base, {"sessionid": session_key}

    async def open_desk(self) -> None:
        async with self.session.get(f"{self.base}/desk/", cookies=self.cookies) as response:  # sets the CSRF cookie
            await response.read()
            self.cookies["csrftoken"] = response.cookies["csrftoken"].value

    async def claim(self, conversation_id: int, answers: list) -> None:
        headers = {"HX-Request": "true", "X-CSRFToken": self.cookies["csrftoken"]}
        started = time.perf_counter()
        url = f"{self.base}/desk/conversations/{conversation_id}/claim/"
        async with self.session.post(url, headers=headers, cookies=self.cookies) as response:
            body = await response.text()
        answers.append((conversation_id, response.status, (time.perf_counter() - started) * 1000, body))


async def saturation(agents: list[Agent], handover_ids: list[int], answers: list) -> None:
    async def claim_everything(agent):
        for conversation_id in random.sample(handover_ids, len(handover_ids)):
            await agent.claim(conversation_id, answers)

    await asyncio.gather(*(claim_everything(agent) for agent in agents))


async def desk_pace(agents: list[Agent], handover_ids: list[int], answers: list) -> None:
    async def react(agent, conversation_id):
        await asyncio.sleep(random.uniform(0, REACTION_SECONDS))
        await agent.claim(conversation_id, answers)

    clicks = []
    for conversation_id in handover_ids:
        clicks += [asyncio.create_task(react(agent, conversation_id)) for agent in agents]
        await asyncio.sleep(PACE_SECONDS)
    await asyncio.gather(*clicks)


async def race(bases: list[str], sessions: list[str], handover_ids: list[int], load) -> tuple[list, float]:
    """The agents spread over the web processes at `bases`, as a load balancer would spread them."""
    answers: list = []
    async with ClientSession(connector=TCPConnector(limit=0)) as session:
        agents = [Agent(session, bases[number % len(bases)], key) for number, key in enumerate(sessions)]
        await asyncio.gather(*(agent.open_desk() for agent in agents))
        started = time.perf_counter()
        await load(agents, handover_ids, answers)
        return answers, time.perf_counter() - started


def handovers_waiting(inbox, count: int) -> list[int]:
    handover_ids = []
    for _ in range(count):
        conversation_id = handover_fanout.conversation_with_the_ai(inbox)
        handover_fanout.hand_over(conversation_id)
        handover_ids.append(conversation_id)
    return handover_ids


def claims_recorded(handover_ids: list[int]) -> Counter:
    claims = AuditEvent.objects.filter(action="conversation.claimed", target_id__in=[str(i) for i in handover_ids])
    return Counter(claims.values_list("target_id", flat=True))


def report(title: str, answers: list, elapsed: float, handovers: int, claimed: Counter, pg_floor: float) -> bool:
    statuses = Counter(status for _, status, _, _ in answers)
    wins = Counter(conversation_id for conversation_id, status, _, _ in answers if status == 200)
    latencies = [latency for _, _, latency, _ in answers]
    told_the_winner = sum(1 for _, status, _, body in answers if status == 409 and "Already claimed by" in body)
    double_by_answers = sum(1 for count in wins.values() if count > 1)
    double_by_audit = sum(1 for count in claimed.values() if count > 1)
    p50, p95 = statistics.median(latencies), infra_floor.p95(latencies)
    print(title)
    print(f"{'answers':>9} {'answers/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p50/pg floor':>13}")
    print(f"{len(answers):>9} {len(answers) / elapsed:>10.0f} {p50:>8.2f} {p95:>8.2f} {p50 / pg_floor:>13.1f}")
    print(f"  answers by status: {dict(sorted(statuses.items()))}; refusals naming the winner: {told_the_winner}")
    print(f"  handovers claimed: {len(wins)} of {handovers} (audit log: {len(claimed)});"
          f" double claims: {double_by_answers} by the answers, {double_by_audit} by the audit log")  # fmt: skip
    clean = double_by_answers == double_by_audit == 0 and len(wins) == len(claimed) == handovers
    return clean, len(answers) / elapsed


def main() -> None:
    call_command("migrate", verbosity=0)
    inbox, sessions = handover_fanout.inbox_with_agents("Bench claims", AGENTS)
    saturated_ids, paced_ids = handovers_waiting(inbox, HANDOVERS), handovers_waiting(inbox, PACED_HANDOVERS)
    pg_floor = statistics.median(infra_floor.postgres_commit())
    connection.close()
    servers, bases = infra_floor.start_web(WEB_PROCESSES)
    try:
        saturated = asyncio.run(race(bases, sessions, saturated_ids, saturation))
        paced = asyncio.run(race(bases, sessions, paced_ids, desk_pace))
        saturated_claims, paced_claims = claims_recorded(saturated_ids), claims_recorded(paced_ids)
    finally:
        infra_floor.stop(*servers)

    print(f"claim_race: {AGENTS} agents racing through {WEB_PROCESSES} uvicorn processes, each on its own port")
    print(f"  the client shares the {os.cpu_count()} cores; PostgreSQL commit floor p50 {pg_floor:.3f} ms")
    clean, rate = report(
        f"saturation: every agent claims each of {HANDOVERS} handovers, back to back",
        *saturated, HANDOVERS, saturated_claims, pg_floor,
    )  # fmt: skip
    paced_clean, _ = report(
        f"desk pace: a handover every {PACE_SECONDS:g}s, every agent clicks Claim within {REACTION_SECONDS:g}s",
        *paced, PACED_HANDOVERS, paced_claims, pg_floor,
    )  # fmt: skip
    print(f"target 0 double claims: {'met' if clean and paced_clean else 'missed'}")
    state = "met" if rate >= TARGET_SATURATED_RATE else "missed"
    print(f"target >= {TARGET_SATURATED_RATE:g} answers/s at saturation: {state} ({rate:.0f} answers/s)")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
