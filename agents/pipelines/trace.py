"""The structured trace of a run: what the admin, the desk and the trace API show."""

from agents.models import PipelineRun, RunStep


def run_trace(run: PipelineRun) -> dict:
    steps = [step_trace(step) for step in run.steps.all()]
    return {
        "run_id": run.pk,
        "trace_id": run.trace_id,
        "conversation_id": run.conversation_id,
        "pipeline": str(run.version),
        "agent": run.agent.name if run.agent else None,
        "status": run.status,
        "reason": run.reason,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "totals": {
            "tokens": sum(step["tokens"] for step in steps),
            "cost_usd": round(sum(step["cost_usd"] for step in steps), 8),
            "latency_ms": round(sum(step["latency_ms"] for step in steps), 2),
        },
        "steps": steps,
    }


def step_trace(step: RunStep) -> dict:
    output = step.output or {}
    return {
        "index": step.index,
        "node": step.node,
        "type": step.node_type,
        "status": step.status,
        "model": step.model,
        "prompt_tokens": step.prompt_tokens,
        "completion_tokens": step.completion_tokens,
        "tokens": step.prompt_tokens + step.completion_tokens,
        "cost_usd": float(step.cost_usd),
        "latency_ms": round(step.latency_ms, 2),
        "tools": step.tools,
        "tool": ", ".join(call["name"] for call in step.tools),
        "outcome": ", ".join(call["outcome"] for call in step.tools),
        "intent": output.get("intent", ""),
        "confidence": output.get("confidence"),
        "error": step.error,
        "output": output,
        "started_at": step.started_at,
    }
