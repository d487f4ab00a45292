"""A person's decision in a workflow: `human_review` opens a review task (an application to
decide, a report to sign off) and the run waits for it, durably; the decision (or the deadline's
policy) comes back as the node's outcome."""

from agents.models import Application, DocumentAnalysis
from agents.pipelines.nodes import NodeResult, Pause, Turn
from agents.pipelines.nodes.documents import recommendation

# A review task's statuses, as a workflow's outcome.
APPROVED = {"approved", "edited"}
NO_DECISION = "No decision was made before the deadline."


def human_review(turn: Turn, node: dict) -> NodeResult:
    if turn.decision:
        return NodeResult({"outcome": _outcome(turn.decision)})
    kind = "signoff" if turn.run.kind == turn.run.Kind.DOCUMENT_ANALYSIS else "application"
    proposal = _signoff(turn) if kind == "signoff" else _application(turn)
    proposal |= {"inbox_id": turn.state["inbox_id"], **turn.state["review"]}
    return NodeResult({}, output={"review": kind}, pause=Pause(kind=kind, proposal=proposal))


def _outcome(decision: dict) -> dict:
    approved = decision["status"] in APPROVED
    if decision["status"] == "expired":
        reasons, by = [decision.get("comment") or NO_DECISION], "the deadline"
    else:
        reasons, by = [decision["comment"]] if decision.get("comment") else [], decision.get("decided_by", "")
    return {"decision": "approve" if approved else "reject", "reasons": reasons, "decided_by": by,
            "decided_by_id": decision.get("decided_by_id"), "automatic": False}  # fmt: skip


def _application(turn: Turn) -> dict:
    state = turn.state
    application = Application.objects.select_related("workflow").get(pk=turn.run.application_id)
    risk = state.get("risk", {})
    return {
        "title": f"Application #{application.pk}: {application.workflow.title}",
        "application_id": application.pk,
        "applicant": application.applicant,
        "summary": state.get("summary", ""),
        "fields": state.get("fields", {}),
        "validation": state.get("validation", {}),
        "extraction": state.get("extraction", {}),
        "risk": risk.get("level", "medium"),
        "risk_score": risk.get("score"),
        "risk_factors": risk.get("factors", []),
        "unsure": risk.get("unsure", False),
        "recommendation": recommendation(state),
    }


def _signoff(turn: Turn) -> dict:
    report = turn.state.get("report", {})
    title = DocumentAnalysis.objects.values_list("title", flat=True).get(pk=turn.run.analysis_id)
    return {
        "title": f"Sign off the report on “{title[:120]}”",
        "analysis_id": turn.run.analysis_id,
        "summary": report.get("summary", ""),
        "findings": report.get("findings", 0),
        "failed_chunks": report.get("failed_chunks", 0),
        "risk": {"high": "high", "medium": "medium"}.get(report.get("highest"), "low"),
    }


NODES = {"human_review": human_review}
