"""Reads of document analyses and applications that the API, the desk and the admin share.
Who sees one: whoever works its inbox (django-guardian's inbox grant; superusers work every
inbox). For anyone else it does not exist (404)."""

from django.db.models import Count, QuerySet
from django.http import Http404

from agents.models import Application, DocumentAnalysis, PipelineRun, RunItem
from agents.pipelines.trace import run_trace
from conversations.selectors import inbox_ids_worked_by


def analyses_visible_to(user) -> QuerySet[DocumentAnalysis]:
    return DocumentAnalysis.objects.filter(inbox_id__in=inbox_ids_worked_by(user)).defer("text")


def access_analysis(user, analysis_id: int) -> DocumentAnalysis:
    analysis = analyses_visible_to(user).select_related("inbox", "workflow").filter(pk=analysis_id).first()
    if analysis is None:
        raise Http404("No such analysis in your inboxes.")
    return analysis


def applications_visible_to(user) -> QuerySet[Application]:
    return Application.objects.filter(inbox_id__in=inbox_ids_worked_by(user))


def access_application(user, application_id: int) -> Application:
    application = applications_visible_to(user).select_related("inbox", "workflow").filter(pk=application_id)
    application = application.first()
    if application is None:
        raise Http404("No such application in your inboxes.")
    return application


def analysis_progress(analysis: DocumentAnalysis) -> dict:
    """Chunks analysed, failed and in all, from the map step's items (live while it runs)."""
    counts = dict(
        RunItem.objects.filter(run__analysis=analysis).values_list("status").annotate(count=Count("pk")).order_by()
    )
    total = sum(counts.values())
    done, failed = counts.get(RunItem.Status.DONE, 0), counts.get(RunItem.Status.FAILED, 0)
    return {
        "done": done,
        "failed": failed,
        "total": total,
        "percent": round(100 * (done + failed) / total) if total else 0,
    }


def analysis_chunks(analysis: DocumentAnalysis) -> list[dict]:
    """The map step's items, in order: their pages, status, attempts and error (not their text)."""
    items = RunItem.objects.filter(run__analysis=analysis).order_by("index")
    rows = items.values("index", "status", "attempts", "error", "input__pages")
    return [{**row, "pages": row.pop("input__pages")} for row in rows]


def analysis_payload(analysis: DocumentAnalysis) -> dict:
    signoff = None
    if analysis.requires_signoff and analysis.status in (
        DocumentAnalysis.Status.FINAL,
        DocumentAnalysis.Status.REJECTED,
    ):
        signoff = {"status": "approved" if analysis.status == DocumentAnalysis.Status.FINAL else "rejected",
                   "by": analysis.signed_off_by, "comment": analysis.signoff_comment}  # fmt: skip
    return {
        "id": analysis.pk,
        "kind": analysis.workflow.name,
        "title": analysis.title,
        "status": analysis.status,
        "reason": analysis.reason,
        "inbox": analysis.inbox_id,
        "pages": analysis.pages,
        "requires_signoff": analysis.requires_signoff,
        "progress": analysis_progress(analysis),
        "report": analysis.report if analysis.status not in DocumentAnalysis.OPEN or analysis.report else None,
        "signoff": signoff,
        "created_at": analysis.created_at,
        "finished_at": analysis.finished_at,
    }


def application_payload(application: Application, *, trace: bool = True) -> dict:
    decision = None
    if application.decision:
        decision = {"decision": application.decision, "reasons": application.decision_reasons,
                    "decided_by": application.decided_by, "decided_at": application.decided_at}  # fmt: skip
    payload = {
        "id": application.pk,
        "kind": application.workflow.name,
        "status": application.status,
        "reason": application.reason,
        "inbox": application.inbox_id,
        "applicant": application.applicant,
        "fields": application.fields,
        "validation": application.validation,
        "summary": application.summary,
        "risk": {
            "level": application.risk_level or None,
            "score": application.risk_score,
            "factors": application.risk_factors,
        },  # fmt: skip
        "recommendation": application.recommendation or None,
        "decision": decision,
        "created_at": application.created_at,
    }
    if trace:
        payload["trace"] = [run_trace(run) for run in _runs(application)]
    return payload


def _runs(application: Application) -> list[PipelineRun]:
    runs = PipelineRun.objects.filter(application=application).select_related("version__pipeline", "agent")
    return list(runs.prefetch_related("steps").order_by("started_at"))
