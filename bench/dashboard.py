"""Time the admin's dashboard at volume: 1M messages and 1M LLM calls over 30 days.

Seeds (once; a second run reuses the rows) 20,000 conversations in two inboxes with 50 messages
each, 100,000 AI runs and 1,000,000 LLM calls spread over the last 30 days, rolls them up
(timed), then requests the dashboard as an admin for each period, for every inbox and for one,
and prints p50/p95 per page. Target: every page under 300 ms. Also times one /metrics scrape.

Runs on its own embedded services (var/bench) unless DATABASE_URL / REDIS_URL are set.
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infra_floor  # noqa: E402, F401  (sets up Django on the benchmark's services)
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from psycopg import sql  # noqa: E402

from agents.models import LLMCall, PipelineRun  # noqa: E402
from agents.pipelines.defaults import support_agent_ensure  # noqa: E402
from conversations.models import Conversation, Customer, Inbox, Message  # noqa: E402
from hilconsole.rollups import rollups_refresh  # noqa: E402

MESSAGES = 1_000_000
LLM_CALLS = 1_000_000
CONVERSATIONS = 20_000
RUNS = 100_000
DAYS = 30
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
TARGET_MS = 300


def seed() -> None:
    if Message.objects.count() >= MESSAGES and LLMCall.objects.count() >= LLM_CALLS:
        print("Reusing the seeded rows.")
        return
    started = time.perf_counter()
    agent, _ = support_agent_ensure()
    inboxes = [Inbox.objects.get_or_create(name=name, defaults={"ai_agent": agent})[0] for name in ("Shop", "Help")]
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        [Customer(inbox=inboxes[n % 2], name=f"Customer {n}") for n in range(CONVERSATIONS)], batch_size=5000
    )
    statuses = ["finished", "finished", "finished", "resolved", "pending_human"]
    conversations = Conversation.objects.bulk_create(
        [Conversation(inbox_id=c.inbox_id, customer=c, status=statuses[n % 5],
                      finished_at=now - timedelta(days=n % DAYS), resolved_at=now - timedelta(days=n % DAYS)
                      if n % 5 == 3 else None, csat_rating=(n % 5) + 1 if n % 5 == 3 else None,
                      csat_at=now - timedelta(days=n % DAYS) if n % 5 == 3 else None)
         for n, c in enumerate(customers)],
        batch_size=5000,
    )  # fmt: skip
    first, last = conversations[0].pk, conversations[-1].pk
    runs = [PipelineRun(conversation_id=first + n % CONVERSATIONS, agent=agent, version=agent.pipeline_version,
                        status="finished" if n % 4 else "handed_over", reason="" if n % 4 else "low_confidence",
                        trace_id=f"bench{n}", last_message_id=0, finished_at=now) for n in range(RUNS)]  # fmt: skip
    PipelineRun.objects.bulk_create(runs, batch_size=5000)
    # Runs started over the 30 days (auto_now_add stamped them now).
    PipelineRun.objects.filter(trace_id__startswith="bench").update(started_at=now)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("UPDATE {runs} SET {started} = now() - ({id} % {days}) * interval '1 day' - interval '2 seconds',"
                    " {finished} = now() - ({id} % {days}) * interval '1 day'").format(
                runs=sql.Identifier(PipelineRun._meta.db_table), started=sql.Identifier("started_at"),
                finished=sql.Identifier("finished_at"), id=sql.Identifier("id"), days=sql.Literal(DAYS))
        )  # fmt: skip
        cursor.execute(
            sql.SQL(
                "INSERT INTO {messages} (conversation_id, sender, content, metadata, created_at)"
                " SELECT {first} + n % {count}, CASE WHEN n % 2 = 0 THEN 'customer' ELSE 'ai' END,"
                " 'Where is my order ' || n, '{{}}'::jsonb, now() - (n % {days}) * interval '1 day'"
                " FROM generate_series(1, {total}) AS n"
            ).format(messages=sql.Identifier(Message._meta.db_table), first=sql.Literal(first),
                     count=sql.Literal(last - first + 1), days=sql.Literal(DAYS), total=sql.Literal(MESSAGES))
        )  # fmt: skip
        cursor.execute(
            sql.SQL(
                "INSERT INTO {calls} (purpose, deployment_model, fallbacks, prompt_tokens, completion_tokens,"
                " cost_usd, latency_ms, outcome, error, conversation_id, agent_id, created_at)"
                " SELECT CASE WHEN n % 3 = 0 THEN 'classify' ELSE 'answer' END,"
                " CASE WHEN n % 50 = 0 THEN '' WHEN n % 3 = 0 THEN 'openai/gpt-4o-mini' ELSE 'openai/gpt-4o' END,"
                " CASE WHEN n % 97 = 0 THEN '[\"openai/gpt-4o\"]'::jsonb ELSE '[]'::jsonb END, 120, 30,"
                " CASE WHEN n % 50 = 0 THEN 0 ELSE 0.000105 END, 400,"
                " CASE WHEN n % 50 = 0 THEN 'error' ELSE 'ok' END, '', {first} + n % {count}, {agent},"
                " now() - (n % {days}) * interval '1 day' - (n % 86000) * interval '1 second'"
                " FROM generate_series(1, {total}) AS n"
            ).format(calls=sql.Identifier(LLMCall._meta.db_table), first=sql.Literal(first),
                     count=sql.Literal(last - first + 1), agent=sql.Literal(agent.pk), days=sql.Literal(DAYS),
                     total=sql.Literal(LLM_CALLS))
        )  # fmt: skip
        cursor.execute("ANALYZE")
    print(
        f"Seeded {MESSAGES:,} messages, {LLM_CALLS:,} LLM calls, {RUNS:,} runs in {time.perf_counter() - started:.0f} s"
    )


def timed_pages(client: Client, pages: list[str]) -> dict[str, list[float]]:
    times = {page: [] for page in pages}
    for page in pages:  # warm up: templates, the first query plans
        assert client.get(page, secure=True).status_code == 200, page
    for _ in range(ROUNDS):
        for page in pages:
            started = time.perf_counter()
            response = client.get(page, secure=True)
            times[page].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    return times


def main() -> None:
    call_command("migrate", verbosity=0)
    seed()
    started = time.perf_counter()
    refreshed = rollups_refresh(days=[timezone.now().date() - timedelta(days=n) for n in range(DAYS + 1)])
    print(f"Rolled up {len(refreshed.days)} days ({refreshed.rows:,} rows) in {time.perf_counter() - started:.1f} s")
    rollups_refresh()  # the first reads every row once to learn where the late rows start
    started = time.perf_counter()
    rollups_refresh()
    print(f"A routine refresh (today, yesterday, days with late rows) took {time.perf_counter() - started:.1f} s")
    admin, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    # The console runs as in production here: an allowed host, and HTTPS (plain HTTP is redirected).
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    shop = Inbox.objects.get(name="Shop")
    pages = [f"/admin/?period={period}" for period in ("24h", "7d", "30d")] + [f"/admin/?period=30d&inbox={shop.pk}"]
    times = timed_pages(client, pages)
    print(f"\n{'page':<32} {'p50 ms':>8} {'p95 ms':>8}")
    worst = 0.0
    for page, samples in times.items():
        p50, p95 = statistics.median(samples), statistics.quantiles(samples, n=20)[18]
        worst = max(worst, p95)
        print(f"{page:<32} {p50:8.1f} {p95:8.1f}")
    started = time.perf_counter()
    assert client.get("/metrics", secure=True).status_code == 200
    print(f"\nOne /metrics scrape: {(time.perf_counter() - started) * 1000:.0f} ms")
    verdict = "met" if worst < TARGET_MS else "MISSED"
    print(f"Target: every page p95 < {TARGET_MS} ms with {MESSAGES:,} messages and {LLM_CALLS:,} LLM calls: {verdict}")


if __name__ == "__main__":
    main()
