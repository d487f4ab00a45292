"""How long a reviewer's decision takes to reach the customer: from the decision's HTTP request
(POST /desk/reviews/<id>/decide/, as the review page sends it) to the resumed run's reply on the
customer's widget socket.

Each round: a customer asks for a refund through the widget API, the worker pauses the run on a
review task (the customer's socket shows the holding message), then the reviewer approves and
the clock runs until the AI's confirmation arrives. The resume passes through the decision's
commit, Celery, the tool call to the demo shop over HTTP, the model and the socket fan-out.
Prints p50/p95 next to the infra floors. Target: p95 <= 150 ms.

Runs on its own embedded services (var/bench) unless DATABASE_URL / REDIS_URL are set.
"""

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infra_floor  # noqa: E402  (sets up Django on the benchmark's services)
from aiohttp import ClientSession  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

# isort: split
from handover_fanout import session_for  # noqa: E402
from turn_overhead import Widget, prepare_inbox  # noqa: E402

from agents.demo_shop.services import demo_orders_ensure  # noqa: E402
from agents.models import DemoOrder, ToolCall  # noqa: E402
from conversations.models import Conversation, Message  # noqa: E402
from reviews.models import ReviewTask  # noqa: E402
from reviews.review_tasks import tool_approvers_grant  # noqa: E402
from reviews.roles import REVIEWER, role_groups_ensure, user_grant_role  # noqa: E402
from reviews.services import inbox_grant  # noqa: E402
from tests.processes import free_port  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS_APPROVAL", "100"))
WARMUP = 5
TARGET_P95_MS = 150.0
REQUEST = "I want a refund of €1 for order 100234, it arrived broken"


def prepare():
    inbox = prepare_inbox()
    Conversation.objects.filter(inbox=inbox).delete()
    demo_orders_ensure()
    role_groups_ensure()
    reviewer, _ = get_user_model().objects.get_or_create(username="bench-reviewer", defaults={"first_name": "Rita"})
    user_grant_role(reviewer, REVIEWER)
    inbox_grant(reviewer, inbox)
    tool_approvers_grant(reviewer, "request_refund")
    return inbox, session_for(reviewer)


async def frame_from(widget: Widget, matches, timeout: float = 30) -> dict:
    while True:
        frame = json.loads((await widget.socket.receive(timeout=timeout)).data)
        if matches(frame):
            return frame


def ai_says(text: str):
    return lambda f: f["type"] == "message" and f["message"]["sender"] == "ai" and text in f["message"]["content"]


async def one_round(session, base: str, inbox, reviewer: dict) -> dict[str, float]:
    # The order stays refundable round after round.
    await asyncio.to_thread(lambda: DemoOrder.objects.filter(number="100234").update(refunded_amount=0))
    # Ana, signed in on the shop: refunds are made only for the customer whose order it is.
    ana = {"identifier": "shop-ana", "identifier_hash": inbox.identifier_hash("shop-ana")}
    widget = await Widget(session, base, inbox, customer=ana).open()
    url = f"{base}/api/widget/v1/conversations/{widget.conversation_id}/messages"
    body = {"content": REQUEST, "client_message_id": uuid.uuid4().hex}
    async with session.post(url, json=body, headers={"Authorization": f"Bearer {widget.token}"}) as response:
        await response.read()
    await frame_from(widget, ai_says("A colleague is checking this"))
    task_id = await asyncio.to_thread(
        lambda: ReviewTask.objects.get(conversation_id=widget.conversation_id, status="open").pk
    )
    headers = {"HX-Request": "true", "X-CSRFToken": reviewer["csrftoken"]}
    started, sent_at = time.perf_counter(), time.time()
    async with session.post(
        f"{base}/desk/reviews/{task_id}/decide/", data={"decision": "approve"}, headers=headers, cookies=reviewer
    ) as response:
        await response.read()
        assert response.status == 200, response.status
    answered = time.perf_counter()
    reply = await frame_from(widget, lambda f: f["type"] == "message" and f["message"]["sender"] == "ai")
    received_at, elapsed = time.time(), (time.perf_counter() - started) * 1000
    assert "1.00" in reply["message"]["content"] or "1.0" in reply["message"]["content"], reply
    await widget.close()
    return await asyncio.to_thread(stages, task_id, sent_at, received_at, elapsed, (answered - started) * 1000)


def stages(task_id: int, sent_at: float, received_at: float, total: float, decision_ms: float) -> dict[str, float]:
    """Where one decision's time went, from the rows the resumed run wrote."""
    task = ReviewTask.objects.select_related("run").get(pk=task_id)
    resumed = task.run.steps.filter(index__gt=task.step_index).order_by("index")
    first, reply = resumed.first(), Message.objects.filter(conversation_id=task.conversation_id).last()
    call = ToolCall.objects.get(idempotency_key=task.idempotency_key)
    answer = resumed.get(node_type="answer")
    return {
        "decision → reply on the socket": total,
        "  decision request (POST answered)": decision_ms,
        "  resume picked up (→ first step starts)": (first.started_at.timestamp() - sent_at) * 1000,
        "  answer node (tool call + model)": answer.latency_ms,
        "    tool call (demo shop over HTTP)": call.latency_ms,
        "  persist reply": resumed.get(node_type="finish").latency_ms,
        "  fan-out (reply stored → socket)": (received_at - reply.created_at.timestamp()) * 1000,
    }


async def rounds(base: str, inbox, session_key: str) -> list[dict[str, float]]:
    async with ClientSession() as session:
        reviewer = {"sessionid": session_key}
        async with session.get(f"{base}/desk/reviews/", cookies=reviewer) as response:
            await response.read()
            reviewer["csrftoken"] = response.cookies["csrftoken"].value
        for _ in range(WARMUP):
            await one_round(session, base, inbox, reviewer)
        return [await one_round(session, base, inbox, reviewer) for _ in range(ROUNDS)]


def main() -> None:
    call_command("migrate", verbosity=0)
    inbox, session_key = prepare()
    port = free_port()
    # The worker's tools reach the demo shop on the benchmark's own web server.
    os.environ["DEMO_SHOP_URL"] = f"http://127.0.0.1:{port}"
    worker = infra_floor.start_worker("bench-approvals", 2)
    floors = infra_floor.floor_medians()
    connection.close()
    server = infra_floor.start_server(port)
    try:
        samples = asyncio.run(rounds(f"http://127.0.0.1:{port}", inbox, session_key))
    finally:
        infra_floor.stop(server, worker)
    report(samples, floors)


def report(rounds_: list[dict[str, float]], floors: dict[str, float]) -> None:
    floor_sum = sum(floors.values())
    print(f"approval_resume: {len(rounds_)} decisions, POST of the decision → the resumed reply on the widget socket")
    print("  local model; uvicorn 2 processes, Celery worker 2 processes, demo shop on the same server, "
          f"load generator on the same {os.cpu_count()} cores")  # fmt: skip
    print(infra_floor.floors_line(floors))
    print(f"{'stage':<44} {'p50 ms':>9} {'p95 ms':>9} {'p50/floors':>11}")
    for label in rounds_[0]:
        samples = [figures[label] for figures in rounds_]
        p50, p95 = statistics.median(samples), infra_floor.p95(samples)
        print(f"{label:<44} {p50:>9.2f} {p95:>9.2f} {p50 / floor_sum:>11.1f}")
    p95 = infra_floor.p95([figures["decision → reply on the socket"] for figures in rounds_])
    print(f"target p95 <= {TARGET_P95_MS:.0f} ms: {'met' if p95 <= TARGET_P95_MS else 'missed'} ({p95:.1f})")


if __name__ == "__main__":
    main()
