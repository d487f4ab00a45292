"""Review tasks: the decisions people make before the AI goes on (approval gates and draft
review), and the outside agents' approval requests. Every write to `ReviewTask` rows.

A task is open until one decision closes it, and the table below is every move there is. A
decision locks the task row, checks it is still open (the loser of two reviewers is told who
won), writes, records an audit event with the arguments before and after, and, once committed,
resumes the run that waits for it (agents.pipelines.engine) or calls the outside agent back.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from agents.models import PipelineRun, Tool
from agents.pipelines import engine
from agents.pipelines.nodes import Pause
from conversations import services as conversations
from conversations.audit import audit_record
from conversations.errors import IllegalTransition
from conversations.models import person_name
from hilconsole.broadcast import broadcast_all_on_commit
from hilconsole.celery import send_unawaited
from hilconsole.errors import DomainError
from reviews import events, selectors
from reviews.arguments import ArgumentsInvalid, checked_arguments
from reviews.models import RejectionReason, ReviewTask

T = ReviewTask.Status
K = ReviewTask.Kind
# Every move a task can make: it is decided once, expires, or is cancelled.
MOVES: dict[str, set[str]] = {
    T.OPEN: {T.APPROVED, T.EDITED, T.REJECTED, T.RESPONDED, T.EXPIRED, T.CANCELLED},
}
# What a reviewer asks for, and the status it leaves the task in.
DECISIONS = {"approve": T.APPROVED, "edit": T.EDITED, "reject": T.REJECTED, "respond": T.RESPONDED}


class AlreadyDecided(IllegalTransition):
    code = "already_decided"


class DecisionInvalid(DomainError):
    """A decision the task cannot take; `field` names what to fix."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str = "decision"):
        super().__init__(message)
        self.field = field


# Opening -----------------------------------------------------------------------------------


class RunReviews:
    """What the pipeline engine calls (registered in ReviewsConfig.ready)."""

    def open(self, run: PipelineRun, step_index: int, pause: Pause) -> int:
        return review_task_open_for_run(run, step_index, pause).pk

    def cancel(self, run: PipelineRun, reason: str) -> None:
        for task_id in ReviewTask.objects.filter(run=run, status=T.OPEN).values_list("pk", flat=True):
            review_task_cancel(task_id, reason=reason)


def review_task_open_for_run(run: PipelineRun, step_index: int, pause: Pause) -> ReviewTask:
    """Call inside the pausing transaction. A replayed pause finds its task and opens none."""
    existing = ReviewTask.objects.filter(run=run, step_index=step_index).first()
    if existing:
        return existing
    proposal, now = pause.proposal, timezone.now()
    fields = {"run": run, "step_index": step_index, "conversation_id": run.conversation_id,
              "customer_words": run.state.get("question", ""), "rationale": proposal.get("why", "")}  # fmt: skip
    if pause.kind in ReviewTask.WORKFLOW_KINDS:
        fields |= _workflow_fields(pause.kind, proposal)
        deadline, escalate = proposal["deadline_seconds"], proposal["escalate_after_seconds"]
    elif pause.kind == "tool_call":
        tool = Tool.objects.get(name=proposal["tool"])
        fields |= {
            "kind": K.TOOL_CALL, "tool": tool, "arguments": proposal["arguments"], "risk": tool.review_risk,
            "idempotency_key": proposal["idempotency_key"],
            "rationale": f"{proposal.get('rationale', '')}\n{proposal.get('why', '')}".strip(),
        }  # fmt: skip
        deadline, escalate = tool.decision_deadline_seconds, tool.escalate_after_seconds
    else:
        fields |= {"kind": K.REPLY, "draft": proposal["draft"], "risk": Tool.ReviewRisk.MEDIUM}
        deadline = settings.REVIEW_DRAFT_DEADLINE_SECONDS
        escalate = deadline // 2
    inbox_id = run.state["inbox_id"]
    task = ReviewTask.objects.create(
        inbox_id=inbox_id, deadline=now + timedelta(seconds=deadline), escalate_at=now + timedelta(seconds=escalate),
        **fields,
    )  # fmt: skip
    audit_record(actor="ai", action="review_task.opened", target=task, after=_audited(task))
    _announce(task)
    return task


def _workflow_fields(kind: str, proposal: dict) -> dict:
    """An application to decide, or a report to sign off: the brief is what the reviewer reads."""
    recommended = proposal.get("recommendation") or {}
    why = "; ".join(recommended.get("reasons", []))
    rationale = f"The AI recommends to {recommended['decision']}: {why}" if recommended else proposal.get("summary", "")
    brief = {key: value for key, value in proposal.items() if key not in ("on_expiry", "inbox_id")}
    return {"kind": kind, "brief": brief, "risk": proposal.get("risk") or "medium", "rationale": rationale[:4000],
            "on_expiry": proposal["on_expiry"], "arguments": proposal.get("fields", {})}  # fmt: skip


def review_task_request(
    user, *, tool: Tool, arguments: dict, rationale: str, inbox, callback_url: str = ""
) -> ReviewTask:
    """An outside agent asks for a decision on one of its tool's calls (the approvals API)."""
    arguments = checked_arguments(tool, arguments)
    now = timezone.now()
    with transaction.atomic():
        task = ReviewTask.objects.create(
            kind=K.EXTERNAL, inbox=inbox, tool=tool, arguments=arguments, rationale=rationale, risk=tool.review_risk,
            deadline=now + timedelta(seconds=tool.decision_deadline_seconds), requested_by=user,
            escalate_at=now + timedelta(seconds=tool.escalate_after_seconds), callback_url=callback_url,
        )  # fmt: skip
        audit_record(actor=user, action="review_task.requested", target=task, after=_audited(task))
        _announce(task)
    return task


# Deciding ----------------------------------------------------------------------------------


def review_task_decide(
    user, task_id: int, decision: str, *, arguments: dict | None = None, comment: str = "", message: str = ""
) -> ReviewTask:
    """The reviewer's decision: approve, edit (the arguments, then approve), reject (with a
    comment), or respond (their own words go to the customer instead). Raises Http404 for a task
    they may not see, DecisionInvalid (400) and AlreadyDecided (409, naming who decided)."""
    if decision not in DECISIONS:
        raise DecisionInvalid(f"Choose one of: {', '.join(DECISIONS)}.")
    with transaction.atomic():
        # The row lock orders two reviewers deciding at once: the second finds it decided.
        task = selectors.access_review_task(user, task_id, lock=True)
        changes = _decision_fields(task, decision, arguments, comment.strip(), message.strip())
        _check_open(task)
        _move(task, DECISIONS[decision], actor=user, decided_by=user, decided_by_label=person_name(user),
              decided_at=timezone.now(), **changes)  # fmt: skip
        _go_on(task)
    return task


def _decision_fields(task: ReviewTask, decision: str, arguments, comment: str, message: str) -> dict:
    if decision == "reject" and not comment:
        told = (
            "your reasons are recorded with the decision"
            if task.kind in ReviewTask.WORKFLOW_KINDS
            else ("the comment is what the customer is told")
        )
        raise DecisionInvalid(f"Say why you reject it: {told}.", field="comment")
    if decision == "respond" and not message:
        raise DecisionInvalid("Write the reply the customer gets instead.", field="message")
    if decision == "respond" and task.kind == K.EXTERNAL:
        raise DecisionInvalid("An outside agent's action is approved, edited or rejected.", field="decision")
    if task.kind in ReviewTask.WORKFLOW_KINDS and decision not in ("approve", "reject"):
        raise DecisionInvalid(f"{task.get_kind_display().capitalize()}s are approved or rejected.", field="decision")
    if decision != "edit":
        return {"decision_comment": comment, "response": message}
    if task.kind == K.REPLY:
        if not message:
            raise DecisionInvalid("Write the reply as it should go out.", field="message")
        return {"decision_comment": comment, "response": message}
    if not isinstance(arguments, dict):
        raise DecisionInvalid("Send the edited arguments as an object.", field="arguments")
    try:
        checked = checked_arguments(task.tool, arguments)
    except ArgumentsInvalid as invalid:
        raise DecisionInvalid(str(invalid), field="arguments")
    return {"final_arguments": checked, "decision_comment": comment}


def _check_open(task: ReviewTask) -> None:
    """Call holding the task's row lock."""
    if task.status == T.OPEN:
        return
    if task.status in (T.EXPIRED, T.CANCELLED):
        detail = f": {task.decision_comment}" if task.decision_comment else ""
        raise AlreadyDecided(f"This task was {task.status}{detail}.")
    when = timezone.localtime(task.decided_at).strftime("%H:%M") if task.decided_at else "earlier"
    who = task.decided_by_label or "someone"
    raise AlreadyDecided(f"Already {task.get_status_display().lower()} by {who} at {when}.")


def _go_on(task: ReviewTask) -> None:
    """Call inside the decision's transaction: resume the waiting run, or call the outside agent back."""
    if task.kind == K.EXTERNAL:
        if task.callback_url:
            transaction.on_commit(
                lambda: send_unawaited("reviews.deliver_review_callback", args=[task.pk]),
                robust=True,
            )
        return
    if task.run_id is None:
        return
    decided = engine.Decision(
        status=task.status, arguments=task.final_arguments, comment=task.decision_comment, message=task.response,
        decided_by=task.decided_by_label, decided_by_id=task.decided_by_id, task_id=task.pk,
    )  # fmt: skip
    if engine.run_decide(task.run_id, task.step_index, decided) is None:
        raise IllegalTransition("The AI is no longer waiting for this decision.", code="run_not_waiting")


# Expiring, escalating, cancelling, taking over --------------------------------------------------


def review_task_cancel(task_id: int, *, reason: str, actor="system") -> ReviewTask | None:
    """The task will not be decided (the customer asked for a person, someone took the
    conversation over). A task already closed is left as it is."""
    with transaction.atomic():
        task = ReviewTask.objects.select_for_update().get(pk=task_id)
        if task.status != T.OPEN:
            return None
        _move(task, T.CANCELLED, actor=actor, decision_comment=_REASON_WORDS.get(reason, reason))
    return task


_REASON_WORDS = {
    "human_request": "the customer asked for a person",
    "reviewer_took_over": "a reviewer took the conversation over",
    "review_expired": "nobody decided in time",
}


def review_deadline_sweep(now=None) -> dict[str, int]:
    """Beat: escalate tasks undecided past their escalation time (highlighted to supervisors),
    and apply the tool's (or the workflow's) policy to tasks past their deadline. Nothing is left
    hanging."""
    now = now or timezone.now()
    due = ReviewTask.objects.filter(status=T.OPEN)
    escalated = sum(
        1
        for task_id in due.filter(escalate_at__lte=now, escalated_at=None).values_list("pk", flat=True)
        if review_task_escalate(task_id)
    )
    expired = 0
    for task_id in due.filter(deadline__lte=now).values_list("pk", flat=True):
        task = review_task_expire(task_id)
        if task is not None and task.status == T.EXPIRED:
            expired += 1
        elif task is not None:  # its policy escalated it again
            escalated += 1
    return {"escalated": escalated, "expired": expired}


def review_task_escalate(task_id: int) -> ReviewTask | None:
    with transaction.atomic():
        task = ReviewTask.objects.select_for_update().get(pk=task_id)
        if task.status != T.OPEN or task.escalated_at:
            return None
        task.escalated_at = timezone.now()
        task.save(update_fields=["escalated_at", "updated_at"])
        audit_record(actor="system", action="review_task.escalated", target=task, after={"escalated": True})
        _announce(task, escalated=True)
    return task


def review_task_expire(task_id: int) -> ReviewTask | None:
    """The deadline passed: the call is rejected (the AI tells the customer), or the conversation
    goes to a person, as the tool says; a draft reply always goes to a person. A workflow's review
    is rejected for want of a decision, or escalated again with a new deadline, as it says."""
    with transaction.atomic():
        task = ReviewTask.objects.select_for_update(of=("self",)).select_related("tool").get(pk=task_id)
        if task.status != T.OPEN:
            return None
        if task.on_expiry == "escalate":
            _escalate_again(task)
            return task
        hand_over = task.kind == K.REPLY or (task.tool and task.tool.on_expiry == Tool.OnExpiry.HAND_OVER)
        _move(task, T.EXPIRED, actor="system", decision_comment="Nobody decided before the deadline.")
        if task.kind == K.EXTERNAL:
            _go_on(task)
        elif task.run_id and hand_over:
            engine.run_stop_waiting(task.run_id, "review_expired")
        elif task.run_id:
            _go_on(task)
    return task


def _escalate_again(task: ReviewTask) -> None:
    """Call holding the task's row lock: supervisors are told again, and the task has as long
    again to be decided."""
    now = timezone.now()
    task.deadline = now + timedelta(seconds=task.brief["deadline_seconds"])
    task.escalated_at = now
    task.save(update_fields=["deadline", "escalated_at", "updated_at"])
    audit_record(actor="system", action="review_task.escalated_again", target=task,
                 after={"deadline": task.deadline.isoformat()})  # fmt: skip
    _announce(task, escalated=True)


def review_task_take_over(user, task_id: int):
    """A reviewer takes the conversation over as an agent: the task is cancelled, the AI stops
    waiting, and the conversation is theirs at once."""
    from reviews import services  # the desk's claims build on review tasks' selectors

    task = selectors.access_review_task(user, task_id)
    if task.conversation_id is None:
        raise DecisionInvalid("This task has no conversation to take over.")
    if not selectors.may_work_inbox(user, task.inbox_id):
        raise DecisionInvalid("You do not work this inbox as an agent.")
    with transaction.atomic():
        task = ReviewTask.objects.select_for_update().get(pk=task_id)
        _check_open(task)
        _move(task, T.CANCELLED, actor=user, decision_comment=f"{person_name(user)} took the conversation over.")
        run = engine.run_end_waiting(task.run_id, "reviewer_took_over") if task.run_id else None
        conversations.conversation_hand_over(
            task.conversation_id, reason="A reviewer took the conversation over",
            summary=f"{person_name(user)} took over while deciding: {task.customer_words[:300]}",
            intent=(run.state.get("intent", "") if run else ""), queue=True,
        )  # fmt: skip
        services.handover_claim(user, task.conversation_id)
    return task


def decision_payload(task: ReviewTask) -> dict:
    """A task as the approvals API and the outside agents' callbacks show it."""
    return {
        "id": task.pk,
        "kind": task.kind,
        "tool": task.tool.name if task.tool_id else None,
        "arguments": task.arguments,
        "final_arguments": task.final_arguments,
        "rationale": task.rationale,
        "risk": task.risk,
        "status": task.status,
        "deadline": task.deadline.isoformat(),
        "conversation_id": task.conversation_id,
        "inbox": task.inbox_id,
        "decided_by": task.decided_by_label or None,
        "decided_at": task.decided_at.isoformat() if task.decided_at else None,
        "comment": task.decision_comment,
        "brief": task.brief,
        "created_at": task.created_at.isoformat(),
    }


# Setting up who decides --------------------------------------------------------------------


def tool_approvers_grant(user_or_group, tool_name: str) -> None:
    """Let a person or a group approve calls of the tool (what an admin does on the tool's
    Object permissions page); they see them in the inboxes they work."""
    assign_perm(selectors.APPROVE_TOOL, user_or_group, Tool.objects.get(name=tool_name))


def rejection_reason_ensure(text: str, tool=None) -> bool:
    return RejectionReason.objects.get_or_create(text=text, defaults={"tool": tool})[1]


# Moves -------------------------------------------------------------------------------------


def _move(task: ReviewTask, to: str, *, actor, **changes) -> None:
    """Call holding the task's row lock."""
    if to not in MOVES.get(task.status, set()):
        raise AlreadyDecided(f"A task that is {task.status} cannot become {to}.")
    before = _audited(task)
    task.status = to
    for field, value in changes.items():
        setattr(task, field, value)
    task.save()
    audit_record(actor=actor, action=f"review_task.{to}", target=task, before=before, after=_audited(task))
    _announce(task)


def _audited(task: ReviewTask) -> dict:
    return {
        "status": task.status,
        "tool": task.tool.name if task.tool_id else None,
        "arguments": task.arguments,
        "final_arguments": task.final_arguments,
        "comment": task.decision_comment,
    }


def _announce(task: ReviewTask, *, escalated: bool = False) -> None:
    """Every desk of the inbox learns of the change once committed (each decides what it shows)."""
    broadcast_all_on_commit(events.review_task_events(task, escalated=escalated))
