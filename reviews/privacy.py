"""This app's part of data protection (called by hilconsole.retention): what review tasks hold
of a customer's words and of the actions on their behalf."""

from django.forms.models import model_to_dict

from conversations.privacy import ERASED, delete_in_batches
from reviews.models import ReviewTask

TEXT_FIELDS = [
    "arguments",
    "final_arguments",
    "draft",
    "customer_words",
    "rationale",
    "decision_comment",
    "response",
    "brief",
]


def customer_export(conversation_ids: list[int]) -> dict:
    tasks = ReviewTask.objects.filter(conversation_id__in=conversation_ids).select_related("tool").order_by("pk")
    return {
        "review_tasks": [
            model_to_dict(task, fields=["kind", "status", "decided_by_label", "decided_at", *TEXT_FIELDS])
            | {"id": task.pk, "tool": task.tool.name if task.tool else "", "conversation_id": task.conversation_id,
               "created_at": task.created_at}
            for task in tasks
        ]
    }  # fmt: skip


def customer_erase(conversation_ids: list[int]) -> tuple[dict, list[tuple[str, list[int]]]]:
    """Call inside a transaction: the tasks keep their kind, outcome and timing (the figures)."""
    tasks = ReviewTask.objects.filter(conversation_id__in=conversation_ids)
    ids = list(tasks.values_list("pk", flat=True))
    erased = tasks.update(arguments=ERASED, final_arguments=None, draft="", customer_words="", rationale="",
                          decision_comment="", response="", brief={})  # fmt: skip
    return {"review_tasks": erased}, [("reviews.reviewtask", ids)]


def runs_erase(run_ids: list[int]) -> tuple[dict, list[tuple[str, list[int]]]]:
    """Call inside a transaction: the review tasks of these runs (an applicant's applications)
    keep their kind, outcome and timing, and lose what the reviewer read and wrote."""
    tasks = ReviewTask.objects.filter(run_id__in=run_ids)
    ids = list(tasks.values_list("pk", flat=True))
    erased = tasks.update(arguments=ERASED, final_arguments=None, brief={}, rationale="", decision_comment="")
    return {"application_review_tasks": erased}, [("reviews.reviewtask", ids)]


def retention_purge(inbox_id: int, before, batch: int) -> dict:
    closed = ReviewTask.objects.filter(inbox_id=inbox_id, created_at__lt=before).exclude(status=ReviewTask.Status.OPEN)
    return {"review_tasks": delete_in_batches(closed, batch)}
