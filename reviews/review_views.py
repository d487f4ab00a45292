"""The reviewer's desk: open review tasks most urgent first, live over the desk socket, and a
task's page with its decisions (approve, edit and approve, reject, respond, take over)."""

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from agents.tools.registry import DECLARED, describe_call
from reviews import review_tasks, selectors
from reviews.models import ReviewTask
from reviews.review_forms import DecisionForm
from reviews.views import desk_view, done, form_notice

DONE = {
    "approve": "Approved: the AI goes on with it.",
    "edit": "Approved with your changes: the AI goes on with them.",
    "reject": "Rejected: the AI tells the customer why.",
    "respond": "Your reply went to the customer.",
}


@require_GET
@desk_view
def review_list(request):
    context = {
        "tasks": selectors.open_review_tasks(request.user),
        "heartbeat_seconds": settings.DESK_HEARTBEAT_SECONDS,
        "resync_seconds": settings.DESK_RESYNC_SECONDS,
    }
    return render(request, "reviews/review_list.html", context)


@require_GET
@desk_view
def review_list_rows(request):
    """The open tasks as they are now, for a list that reconnected or checks in."""
    return render(
        request, "reviews/_review_list.html", {"tasks": selectors.open_review_tasks(request.user), "oob": True}
    )


@require_GET
@desk_view
def review_task(request, task_id):
    task = selectors.access_review_task(request.user, task_id)
    return render(request, "reviews/review_task.html", review_context(task, DecisionForm(task=task)))


def review_context(task: ReviewTask, form: DecisionForm) -> dict:
    declared = DECLARED.get(task.tool.name) if task.tool_id else None
    shop = declared.review_context(task.arguments) if declared and declared.review_context and task.is_open else None
    return {
        "task": task,
        "form": form,
        "action": describe_call(task.tool.name, task.final_arguments or task.arguments) if task.tool_id else "",
        "arguments": sorted((task.final_arguments or task.arguments).items()),
        "shop": shop,
    }


@require_POST
@desk_view
def review_decide(request, task_id):
    task = selectors.access_review_task(request.user, task_id)
    form = DecisionForm(request.POST, task=task)
    if not form.is_valid():
        return form_notice(request, form, back=reverse("desk:review", args=[task_id]))
    decision = form.cleaned_data["decision"]
    review_tasks.review_task_decide(
        request.user, task_id, decision, arguments=form.arguments(), comment=form.cleaned_data["comment"],
        message=form.cleaned_data["message"],
    )  # fmt: skip
    return done(request, DONE[decision], reverse("desk:reviews"))


@require_POST
@desk_view
def review_take_over(request, task_id):
    task = review_tasks.review_task_take_over(request.user, task_id)
    to = reverse("desk:conversation", args=[task.conversation_id])
    return done(request, "The conversation is yours: the AI stopped waiting for a decision.", to)
