"""Helpers of the workflow tests: the shipped workflows in an inbox, documents of many pages, and
running a workflow's run (and its items) in this process."""

from django.contrib.auth.models import Permission

from agents.models import PipelineRun, RunItem
from agents.pipelines import engine
from agents.workflows import runs
from agents.workflows.defaults import workflows_ensure
from conversations.services import inbox_ensure
from reviews.services import inbox_grant

CLAUSES = [
    "The Supplier shall deliver the goods within 30 days of the order.",
    "Late delivery incurs a penalty of EUR 500 per week, payable to Northwind Traders GmbH.",
    "Either party may terminate this agreement with 90 days written notice.",
    "The Customer must keep all pricing confidential.",
    "Invoices are payable within 14 days; overdue amounts bear interest of 8% per year.",
    "This agreement renews automatically for one year unless cancelled.",
]


def document(pages: int, marker: str = "") -> str:
    """A contract of `pages` pages (form feeds between them); page 3 carries `marker` if given."""
    texts = []
    for page in range(1, pages + 1):
        lines = [f"Section {page}. Terms agreed on 12 March 2025 between Mr. John Carter and Acme Supplies Ltd."]
        lines += [CLAUSES[(page + offset) % len(CLAUSES)] for offset in range(4)]
        if page == 3 and marker:
            lines.append(marker)
        texts.append("\n\n".join(lines))
    return "\f".join(texts)


def back_office(user, name="Back office"):
    """The shipped workflows in an inbox the user works, with the permissions to submit."""
    inbox, _ = inbox_ensure(name=name, allowed_origins=[], greeting="Hi")
    workflows = workflows_ensure(inbox)
    if user is not None:
        inbox_grant(user, inbox)
        user.user_permissions.add(*Permission.objects.filter(codename__in=["add_documentanalysis", "add_application"]))
    return inbox, workflows


def run_here(run: PipelineRun) -> PipelineRun:
    """Advance the run in this process, doing its items here too, until it ends or waits for a person."""
    while True:
        runs.workflow_run(run.pk)
        open_items = RunItem.objects.filter(run=run, status__in=RunItem.OPEN).values_list("pk", flat=True)
        if not open_items:
            run.refresh_from_db()
            return run
        for item_id in open_items:
            while engine.item_process(item_id, "here") == "retry":
                pass
