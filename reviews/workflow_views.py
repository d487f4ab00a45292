"""The back office on the desk: document analyses with their live progress and report, and
applications with their assessment, decision and trace. Whoever works a submission's inbox sees
it; for anyone else it does not exist (404). Decisions themselves are review tasks
(reviews.review_views)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from agents.workflows import selectors as workflows
from reviews.models import ReviewTask
from reviews.selectors import reviewer_scope
from reviews.views import desk_view

LIST_LENGTH = 50
# While an analysis runs its page asks for its progress this often (an htmx poll).
PROGRESS_SECONDS = 2


@require_GET
@desk_view
def analysis_list(request):
    analyses = workflows.analyses_visible_to(request.user).select_related("inbox").order_by("-created_at")
    rows = [(analysis, workflows.analysis_progress(analysis)) for analysis in analyses[:LIST_LENGTH]]
    return render(request, "reviews/analysis_list.html", {"rows": rows, "poll_seconds": PROGRESS_SECONDS})


@require_GET
@desk_view
def analysis_page(request, analysis_id):
    analysis = workflows.access_analysis(request.user, analysis_id)
    context = {
        "analysis": analysis,
        "progress": workflows.analysis_progress(analysis),
        "chunks": workflows.analysis_chunks(analysis),
        "task": _open_task(request.user, ReviewTask.Kind.SIGNOFF, analysis_id=analysis.pk),
        "poll_seconds": PROGRESS_SECONDS,
    }
    return render(request, "reviews/analysis.html", context)


@require_GET
@desk_view
def analysis_progress(request, analysis_id):
    """The progress bar, for the page's poll. When the status changed since the page showed it
    (`shown`), the page reloads itself to show the report (HX-Refresh)."""
    analysis = workflows.access_analysis(request.user, analysis_id)
    context = {
        "analysis": analysis,
        "progress": workflows.analysis_progress(analysis),
        "poll_seconds": PROGRESS_SECONDS,
    }
    response = render(request, "reviews/_analysis_progress.html", context)
    if request.GET.get("shown", analysis.status) != analysis.status:
        response["HX-Refresh"] = "true"
    return response


@require_GET
@desk_view
def application_list(request):
    applications = workflows.applications_visible_to(request.user).select_related("workflow", "inbox")
    return render(request, "reviews/application_list.html",
                  {"applications": applications.order_by("-created_at")[:LIST_LENGTH]})  # fmt: skip


@require_GET
@desk_view
def application_page(request, application_id):
    application = workflows.access_application(request.user, application_id)
    context = {
        "application": application,
        "payload": workflows.application_payload(application),
        "task": _open_task(request.user, ReviewTask.Kind.APPLICATION, application_id=application.pk),
    }
    return render(request, "reviews/application.html", context)


def _open_task(user, kind: str, **subject) -> ReviewTask | None:
    """The submission's open review task, for someone who may decide it."""
    field, value = next(iter(subject.items()))
    tasks = reviewer_scope(user).tasks().filter(kind=kind, status=ReviewTask.Status.OPEN)
    return tasks.filter(**{f"run__{field.removesuffix('_id')}_id": value}).first()
