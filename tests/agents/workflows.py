"""Helpers of the workflow tests: the shipped workflows in an inbox, documents of many pages, and
running a workflow's run (and its items) in this process."""

import httpx
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token

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


def api_client(base_url: str, user) -> httpx.Client:
    """An HTTP client of the live server, signed in with a new API token of `user`."""
    token = Token.objects.create(user=user).key
    return httpx.Client(base_url=base_url, timeout=60, headers={"Authorization": f"Token {token}"})


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


def pdf(pages: list[str]) -> bytes:
    """A small PDF with one line of text (Helvetica) on each page."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{' '.join(f'{4 + 2 * i} 0 R' for i in range(len(pages)))}] "
               f"/Count {len(pages)} >>",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]  # fmt: skip
    for position, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       f"/Contents {5 + 2 * position} 0 R >>")  # fmt: skip
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    return out + f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
