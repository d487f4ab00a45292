"""Helpers of the workflow tests: the shipped workflows in an inbox, documents of many pages, and
running a workflow's run (and its items) in this process."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings
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


class CallbackReceiver:
    """An outside system's callback endpoint on this machine: it keeps every POST it gets."""

    def __init__(self):
        self.calls: list[tuple[dict, bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.calls.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/decisions"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def decisions(self) -> list[dict]:
        """The bodies received, each checked against its signature."""
        found = []
        for headers, body in self.calls:
            signature = hmac.new(settings.APPROVALS_CALLBACK_SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["X-HIL-Signature"] == f"sha256={signature}"
            found.append(json.loads(body))
        return found
