"""Every write to document analyses and applications: submitting one (which starts its run), and
recording what its run found (a report, an assessment, a decision). Both move through the
tables below; `_move()` locks the row, checks the move, records an audit event and stamps."""

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from agents.models import Application, DocumentAnalysis, PipelineRun, Workflow
from conversations.audit import audit_record
from conversations.errors import IllegalTransition
from hilconsole.celery import app as celery_app

A = DocumentAnalysis.Status
P = Application.Status
# Every move there is; a move to the status a submission has already is a repeat, and changes
# only the fields it brings (a replayed step records the same outcome again).
ANALYSIS_MOVES: dict[str, set[str]] = {
    A.QUEUED: {A.ANALYSING, A.FAILED},
    A.ANALYSING: {A.AWAITING_SIGNOFF, A.FINAL, A.FAILED},
    A.AWAITING_SIGNOFF: {A.FINAL, A.REJECTED, A.FAILED},
}
APPLICATION_MOVES: dict[str, set[str]] = {
    P.RECEIVED: {P.PROCESSING, P.FAILED},
    P.PROCESSING: {P.IN_REVIEW, P.APPROVED, P.REJECTED, P.FAILED},
    P.IN_REVIEW: {P.APPROVED, P.REJECTED, P.FAILED},
}
MOVES = {DocumentAnalysis: ANALYSIS_MOVES, Application: APPLICATION_MOVES}


@dataclass(frozen=True)
class DocumentText:
    """A document's text as the analysis keeps it: pages separated by form feeds."""

    text: str
    pages: int
    content_type: str
    file_name: str
    size_bytes: int
    sha256: str


# Submitting -----------------------------------------------------------------------------------


def analysis_submit(user, *, workflow: Workflow, inbox, title: str, document: DocumentText,
                    requires_signoff: bool) -> DocumentAnalysis:  # fmt: skip
    """A document to analyse: stored, and its run sent to the workers once committed."""
    with transaction.atomic():
        analysis = DocumentAnalysis.objects.create(
            workflow=workflow, inbox=inbox, requested_by=user, title=title, text=document.text,
            pages=document.pages, content_type=document.content_type, file_name=document.file_name,
            size_bytes=document.size_bytes, sha256=document.sha256, requires_signoff=requires_signoff,
        )  # fmt: skip
        _run_start(workflow, {"analysis": analysis}, {"requires_signoff": requires_signoff}, inbox.pk)
        audit_record(actor=user, action="analysis.submitted", target=analysis,
                     after={"pages": document.pages, "requires_signoff": requires_signoff})  # fmt: skip
    return analysis


def application_submit(user, *, workflow: Workflow, inbox, applicant: dict, documents: list[dict],
                       fields: dict, callback_url: str = "") -> Application:  # fmt: skip
    """An application to process: stored, and its run sent to the workers once committed."""
    with transaction.atomic():
        application = Application.objects.create(
            workflow=workflow, inbox=inbox, requested_by=user, applicant=applicant, documents=documents,
            given_fields=fields, callback_url=callback_url,
        )  # fmt: skip
        _run_start(workflow, {"application": application}, {"applicant": applicant}, inbox.pk)
        audit_record(actor=user, action="application.submitted", target=application,
                     after={"kind": workflow.name, "documents": len(documents)})  # fmt: skip
    return application


def _run_start(workflow: Workflow, subject: dict, state: dict, inbox_id: int) -> PipelineRun:
    """Call inside the submission's transaction."""
    agent = workflow.ai_agent
    name, target = next(iter(subject.items()))
    run = PipelineRun.objects.create(
        kind=workflow.kind, agent=agent, version=agent.pipeline_version, trace_id=uuid.uuid4().hex,
        next_node=agent.pipeline_version.graph["start"], **subject,
        state={
            **state, "subject": f"{name} {target.pk}", "inbox_id": inbox_id, "steps": 0, "errors": 0,
            "visits": {}, "suppressed": [],
            # The review's terms as they were when it was submitted.
            "review": {"deadline_seconds": workflow.decision_deadline_seconds,
                       "escalate_after_seconds": workflow.escalate_after_seconds, "on_expiry": workflow.on_expiry},
        },
    )  # fmt: skip
    run_workflow_on_commit(run.pk)
    return run


def run_workflow_on_commit(run_id: int) -> None:
    # Robust: a broker error must not undo the submission; the stalled-run sweep sends it again.
    transaction.on_commit(lambda: celery_app.send_task("agents.run_workflow", args=[run_id]), robust=True)


# Recording what a run found --------------------------------------------------------------------


def submission_started(run: PipelineRun) -> None:
    """The workers took it up."""
    if run.kind == PipelineRun.Kind.DOCUMENT_ANALYSIS:
        _move(DocumentAnalysis, run.analysis_id, A.ANALYSING, only_from=A.QUEUED)
    else:
        _move(Application, run.application_id, P.PROCESSING, only_from=P.RECEIVED)


def analysis_report_record(analysis_id: int, report: dict) -> None:
    DocumentAnalysis.objects.filter(pk=analysis_id).update(report=report, updated_at=timezone.now())


def submission_record(run: PipelineRun, *, callback: bool = False) -> None:
    """What the run has found so far, on its submission: a report's status, an application's
    assessment and, once decided, the decision (POSTed to its callback URL with `callback`)."""
    if run.kind == PipelineRun.Kind.DOCUMENT_ANALYSIS:
        _analysis_record(run)
    else:
        _application_record(run, callback)


def _analysis_record(run: PipelineRun) -> None:
    outcome = run.state.get("outcome")
    if outcome:
        to = A.FINAL if outcome["decision"] == "approve" else A.REJECTED
        _move(DocumentAnalysis, run.analysis_id, to, signed_off_by=outcome["decided_by"],
              signoff_comment="\n".join(outcome["reasons"]), finished_at=timezone.now())  # fmt: skip
    elif run.state.get("paused", {}).get("kind") == "signoff":
        _move(DocumentAnalysis, run.analysis_id, A.AWAITING_SIGNOFF)
    elif not run.state.get("requires_signoff"):
        _move(DocumentAnalysis, run.analysis_id, A.FINAL, finished_at=timezone.now())


def _application_record(run: PipelineRun, callback: bool) -> None:
    state, risk = run.state, run.state.get("risk", {})
    from agents.pipelines.nodes.documents import recommendation  # the nodes build on these services

    found = {
        "fields": state.get("fields", {}), "validation": state.get("validation", {}),
        "summary": state.get("summary", ""), "risk_level": risk.get("level", ""), "risk_score": risk.get("score"),
        "risk_factors": risk.get("factors", []), "recommendation": recommendation(state) if risk else {},
    }  # fmt: skip
    outcome = state.get("outcome")
    if outcome is None:
        to = P.IN_REVIEW if state.get("paused", {}).get("kind") == "application" else P.PROCESSING
        _move(Application, run.application_id, to, **found)
        return
    application = _move(
        Application, run.application_id, P.APPROVED if outcome["decision"] == "approve" else P.REJECTED, **found,
        decision=outcome["decision"], decision_reasons=outcome["reasons"], decided_by=outcome["decided_by"],
        decided_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip
    if callback and application.callback_url and not application.callback_delivered_at:
        application_callback_on_commit(application.pk)


def application_callback_on_commit(application_id: int) -> None:
    transaction.on_commit(
        lambda: celery_app.send_task("agents.deliver_application_callback", args=[application_id]), robust=True
    )


def submission_fail(run: PipelineRun, reason: str) -> None:
    model, pk = (DocumentAnalysis, run.analysis_id) if run.analysis_id else (Application, run.application_id)
    _move(model, pk, model.Status.FAILED, reason=reason[:200], finished_at=timezone.now())


# Moves ------------------------------------------------------------------------------------------


def _move(model, pk: int, to: str, *, only_from: str | None = None, **changes):
    """Move the submission to `to` (a repeat of its current status changes only the fields),
    holding its row lock; an audit event records each change of status."""
    with transaction.atomic():
        subject = model.objects.select_for_update().get(pk=pk)
        before = subject.status
        if only_from and before != only_from:
            return subject
        if before != to and to not in MOVES[model].get(before, set()):
            raise IllegalTransition(f"{subject} is {before} and cannot become {to}.")
        subject.status = to
        for field, value in changes.items():
            if field not in ("finished_at", "decided_at") or getattr(subject, field) is None:
                setattr(subject, field, value)
        subject.save()
        if before != to:
            audit_record(actor="ai", action=f"{model._meta.model_name}.{to}", target=subject,
                         before={"status": before}, after={"status": to})  # fmt: skip
    return subject
