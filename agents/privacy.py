"""This app's part of data protection (called by hilconsole.retention): what runs, steps, tool
calls and model calls hold of a customer, and the applications they made (found by the email or
the customer id the applicant was given), exported, erased, or deleted past retention; document
analyses are deleted past their inbox's retention."""

from django.db.models import Q
from django.forms.models import model_to_dict

from agents.models import Application, DocumentAnalysis, LLMCall, PipelineRun, RunStep, ToolCall
from conversations.privacy import ERASED, delete_in_batches, update_in_batches

STEP_FIELDS = ["index", "node", "node_type", "status", "input", "output", "model", "prompt_tokens",
               "completion_tokens", "cost_usd", "latency_ms", "tools", "error", "started_at"]  # fmt: skip


def customer_export(conversation_ids: list[int]) -> dict:
    runs = PipelineRun.objects.filter(conversation_id__in=conversation_ids).order_by("pk")
    return {
        "ai_runs": [
            {"id": run.pk, "conversation_id": run.conversation_id, "status": run.status, "reason": run.reason,
             "state": run.state, "started_at": run.started_at, "finished_at": run.finished_at,
             "steps": list(run.steps.order_by("index").values(*STEP_FIELDS))}
            for run in runs
        ],
        "tool_calls": [
            model_to_dict(call, fields=["arguments", "result", "error", "attempts", "latency_ms"])
            | {"tool": call.tool.name, "conversation_id": call.conversation_id, "created_at": call.created_at}
            for call in ToolCall.objects.filter(conversation_id__in=conversation_ids).select_related("tool")
        ],
        "model_calls": list(
            LLMCall.objects.filter(conversation_id__in=conversation_ids).order_by("pk").values(
                "purpose", "deployment_model", "prompt_tokens", "completion_tokens", "cost_usd", "outcome",
                "created_at",
            )
        ),
    }  # fmt: skip


def customer_erase(conversation_ids: list[int]) -> tuple[dict, list[tuple[str, list[int]]]]:
    """Call inside a transaction. Runs keep their outcome, steps their timing, tokens and cost,
    model calls their figures; none keeps a word of the customer. A run under way stops (the
    stalled-turn sweep then closes its conversation, with nothing left to answer)."""
    runs = PipelineRun.objects.filter(conversation_id__in=conversation_ids)
    run_ids = list(runs.values_list("pk", flat=True))
    runs.filter(status__in=PipelineRun.ACTIVE).update(status=PipelineRun.Status.FAILED, reason="erased")
    erased = {
        "ai_runs": runs.update(state=ERASED),
        "run_steps": RunStep.objects.filter(run_id__in=run_ids).update(input={}, output={}, tools=[], error=""),
        "tool_calls": ToolCall.objects.filter(conversation_id__in=conversation_ids).update(
            arguments=ERASED, result=None, error=""
        ),
        "model_calls": LLMCall.objects.filter(conversation_id__in=conversation_ids).update(error=""),
    }
    return erased, [("agents.pipelinerun", run_ids)]


def applications_of(customer) -> list[int]:
    """The applications whose applicant is this customer: by their email, or by their id in the
    shop (what an applicant's `customer_id` names)."""
    same = Q(applicant__customer_id=customer.identifier) if customer.identifier else Q(pk__in=[])
    if customer.email:
        same |= Q(applicant__email__iexact=customer.email)
    return list(Application.objects.filter(same).values_list("pk", flat=True))


def application_run_ids(application_ids: list[int]) -> list[int]:
    return list(PipelineRun.objects.filter(application_id__in=application_ids).values_list("pk", flat=True))


def applications_export(application_ids: list[int]) -> dict:
    fields = ["status", "applicant", "documents", "given_fields", "fields", "summary", "risk_level", "risk_factors",
              "decision", "decision_reasons", "decided_by", "decided_at"]  # fmt: skip
    applications = Application.objects.filter(pk__in=application_ids).order_by("pk")
    return {"applications": [model_to_dict(application, fields=fields) | {"id": application.pk,
                                                                         "created_at": application.created_at}
                             for application in applications]}  # fmt: skip


def applications_erase(application_ids: list[int]) -> tuple[dict, list[tuple[str, list[int]]]]:
    """Call inside a transaction: the applications keep their kind, status, risk level and
    decision (the figures), and lose who applied and everything they wrote or the AI read."""
    run_ids = application_run_ids(application_ids)
    erased = {
        "applications": Application.objects.filter(pk__in=application_ids).update(
            applicant=ERASED, documents=[], given_fields={}, fields={}, validation={}, summary="", risk_factors=[],
            recommendation={}, decision_reasons=[], callback_url="",
        ),
        "application_runs": PipelineRun.objects.filter(pk__in=run_ids).update(state=ERASED),
        "application_steps": RunStep.objects.filter(run_id__in=run_ids).update(input={}, output={}, tools=[],
                                                                                error=""),
        "application_tool_calls": _tool_calls_of(run_ids).update(arguments=ERASED, result=None, error=""),
    }  # fmt: skip
    return erased, [("agents.application", application_ids), ("agents.pipelinerun", run_ids)]


def _tool_calls_of(run_ids: list[int]):
    """The runs' tool calls, by their idempotency keys (agents.tools.idempotency_key_for)."""
    keyed = Q(pk__in=[])
    for run_id in run_ids:
        keyed |= Q(idempotency_key__startswith=f"run:{run_id}:")
    return ToolCall.objects.filter(keyed)


def retention_purge(inbox_id: int, before, batch: int) -> dict:
    """Runs (with their steps) and tool calls older than `before`; model calls keep their
    figures but not their error texts; document analyses and applications (with their runs and
    items). Runs under way are left to finish."""
    runs = PipelineRun.objects.filter(conversation__inbox_id=inbox_id, started_at__lt=before).exclude(
        status__in=PipelineRun.ACTIVE
    )
    calls = LLMCall.objects.filter(conversation__inbox_id=inbox_id, created_at__lt=before).exclude(error="")
    return {
        "ai_runs": delete_in_batches(runs, batch),
        "tool_calls": delete_in_batches(ToolCall.objects.filter(conversation__inbox_id=inbox_id,
                                                                created_at__lt=before), batch),
        "model_call_errors": update_in_batches(calls, batch, error=""),
        "document_analyses": delete_in_batches(DocumentAnalysis.objects.filter(inbox_id=inbox_id, created_at__lt=before)
                                               .exclude(status__in=DocumentAnalysis.OPEN), batch),
        "applications": delete_in_batches(Application.objects.filter(inbox_id=inbox_id, created_at__lt=before)
                                          .exclude(status__in=Application.OPEN), batch),
    }  # fmt: skip
