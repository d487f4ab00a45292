"""How fast documents are analysed: pages per second for a 200-page text document against the
number of worker processes (1, then 2), and the map step's speed-up.

For each worker size: a Celery worker of that many processes on the benchmark's services, a
warm-up analysis (each process loads the local model once), then BENCH_ANALYSES analyses of the
same BENCH_PAGES-page contract, one after the other, each submitted as the API submits it and
timed from its submission to its report (the rows' own timestamps). The map step is timed from
the step that fanned the chunks out to the last chunk finished; its speed-up is the map time with
one process over the map time with more. The machine's load average is printed alongside, as
other work on it slows every figure down.

Runs on its own embedded services (var/bench) unless DATABASE_URL / REDIS_URL are set.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infra_floor  # noqa: E402  (sets up Django on the benchmark's services)
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max, Sum  # noqa: E402

from agents.models import DocumentAnalysis, RunItem, RunStep  # noqa: E402
from agents.workflows import documents, services  # noqa: E402
from agents.workflows.defaults import workflows_ensure  # noqa: E402
from conversations.services import inbox_ensure  # noqa: E402

PAGES = int(os.environ.get("BENCH_PAGES", "200"))
ANALYSES = int(os.environ.get("BENCH_ANALYSES", "3"))
WORKER_SIZES = (1, 2)
WARMUP_PAGES = 20
TIMEOUT_SECONDS = 600
PARAGRAPHS = [
    "The Supplier shall deliver the goods listed in Schedule {n} within {days} days of the order, to the "
    "Customer's warehouse in Hamburg, packed and labelled as the Customer's logistics guide requires.",
    "Late delivery incurs a penalty of EUR {amount} per week, payable to Northwind Traders GmbH, up to ten "
    "percent of the order's value; the Customer may also buy the goods elsewhere at the Supplier's cost.",
    "Either party may terminate this agreement with {days} days written notice; the Customer may terminate "
    "at once if the Supplier becomes insolvent or breaches the confidentiality clause.",
    "The Customer must keep all pricing confidential. Mr. John Carter of Acme Supplies Ltd. is the "
    "Supplier's contact for every question about this section, agreed on {day} March 2025.",
    "Invoices are payable within 14 days; overdue amounts bear interest of {rate}% per year. Disputed "
    "amounts are settled by the arbitration court in Frankfurt, whose decision binds both parties.",
    "This agreement renews automatically for one year unless cancelled three months before it ends. The "
    "prices of a renewed year follow the index published by the statistics office in January.",
]


def contract(pages: int) -> str:
    """A contract of `pages` pages of about 2,500 characters each, pages separated by form feeds."""
    texts = []
    for page in range(1, pages + 1):
        numbers = {"n": page, "days": 30 + page % 60, "amount": 100 * (page % 9 + 1), "day": page % 28 + 1,
                   "rate": page % 7 + 2}  # fmt: skip
        paragraphs = [f"Section {page}. Terms of supply between Acme Supplies Ltd. and Northwind Traders GmbH."]
        for turn in range(2):
            paragraphs += [text.format(**numbers) for text in PARAGRAPHS[(page + turn) % 2 :: 2]]
        texts.append("\n\n".join(paragraphs))
    return "\f".join(texts)


def prepare():
    inbox, _ = inbox_ensure(name="Bench back office", allowed_origins=[], greeting="Hi")
    workflow = next(w for w in workflows_ensure(inbox) if w.name == "document_analysis")
    analyst, _ = get_user_model().objects.get_or_create(username="bench-analyst", defaults={"first_name": "Ada"})
    return inbox, workflow, analyst


def analyse(inbox, workflow, analyst, text: str) -> dict[str, float]:
    """Submit one document and wait for its report; its figures, in seconds."""
    document = documents.document_text(text.encode(), file_name="contract.txt")
    analysis = services.analysis_submit(analyst, workflow=workflow, inbox=inbox, title="Bench contract",
                                        document=document, requires_signoff=False)  # fmt: skip
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not DocumentAnalysis.objects.filter(pk=analysis.pk, status__in=["final", "failed"]).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"Analysis {analysis.pk} did not finish in {TIMEOUT_SECONDS} s.")
        time.sleep(0.05)
    analysis.refresh_from_db()
    if analysis.status != "final" or analysis.report["chunks"]["failed"]:
        raise SystemExit(f"Analysis {analysis.pk} ended {analysis.status}: {analysis.reason or analysis.report}")
    return figures_of(analysis)


def figures_of(analysis: DocumentAnalysis) -> dict[str, float]:
    run = analysis.runs.get()
    fanned_out = RunStep.objects.filter(run=run, node_type="map").order_by("index").first()
    items = RunItem.objects.filter(run=run).aggregate(last=Max("finished_at"), busy=Sum("latency_ms"))
    total = (analysis.finished_at - analysis.created_at).total_seconds()
    return {
        "total": total,
        "pages_per_second": analysis.pages / total,
        "map": (items["last"] - fanned_out.started_at).total_seconds(),
        "chunk_work": items["busy"] / 1000,
        "chunks": analysis.report["chunks"]["total"],
    }


def measure(processes: int, inbox, workflow, analyst) -> tuple[list[dict[str, float]], tuple[float, ...]]:
    connection.close()
    worker = infra_floor.start_worker(f"bench-analyses-{processes}", processes)
    try:
        analyse(inbox, workflow, analyst, contract(WARMUP_PAGES))
        text = contract(PAGES)
        rounds = [analyse(inbox, workflow, analyst, text) for _ in range(ANALYSES)]
        load = os.getloadavg()
    finally:
        worker.terminate()
        worker.wait(30)
    return rounds, load


def main() -> None:
    call_command("migrate", verbosity=0)
    inbox, workflow, analyst = prepare()
    results = {}
    try:
        for processes in WORKER_SIZES:
            results[processes] = measure(processes, inbox, workflow, analyst)
    finally:
        infra_floor.stop()
    report(results)


def report(results: dict[int, tuple[list[dict[str, float]], tuple[float, ...]]]) -> None:
    chunks = int(next(iter(results.values()))[0][0]["chunks"])
    print(f"document_analysis: a {PAGES}-page text contract ({chunks} chunks), {ANALYSES} analyses per "
          f"worker size, submission → report; local model, on {os.cpu_count()} cores")  # fmt: skip
    columns = ("processes", "total s", "pages/s", "map s", "chunk work s", "load avg (1, 5, 15 min)")
    print(" ".join(f"{name:>{width}}" for name, width in zip(columns, (9, 9, 9, 8, 13, 26), strict=True)))
    medians = {}
    for processes, (rounds, load) in results.items():
        medians[processes] = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
        m = medians[processes]
        shown_load = ", ".join(f"{value:.2f}" for value in load)
        print(f"{processes:>9} {m['total']:>9.2f} {m['pages_per_second']:>9.1f} {m['map']:>8.2f} "
              f"{m['chunk_work']:>13.2f} {shown_load:>26}")  # fmt: skip
    one, most = medians[WORKER_SIZES[0]], medians[WORKER_SIZES[-1]]
    print(f"{WORKER_SIZES[-1]} processes over 1: pages/s × {most['pages_per_second'] / one['pages_per_second']:.2f}, "
          f"map step speed-up × {one['map'] / most['map']:.2f} (medians)")  # fmt: skip


if __name__ == "__main__":
    main()
