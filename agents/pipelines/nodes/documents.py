"""The back-office nodes: a document's pages mapped over the workers and reduced into a report
(`map`, `reduce`), and an application's fields extracted, checked, looked up and assessed
(`extract`, `validate`, `lookup`, `assess_risk`), decided (`decide`) and announced (`notify`).
Models are reached through the gateway with the workflow prompts; rules are JMESPath over the
run state, like edge conditions."""

import json
from types import SimpleNamespace

import jmespath
from jsonschema import Draft202012Validator

from agents.llm import gateway
from agents.llm import workflow_prompts as wp
from agents.models import Application, DocumentAnalysis, RunItem
from agents.pipelines.graph import truthy
from agents.pipelines.node_settings import RISK_LEVELS
from agents.pipelines.nodes import FanOut, NodeResult, Turn
from agents.tools import idempotency_key_for, tool_call
from agents.tools.registry import ToolCustomer
from agents.workflows import services

SEVERITIES = ("low", "medium", "high")
ENTITY_KINDS = ("people", "organisations", "dates", "amounts")
RANK = {level: rank for rank, level in enumerate(RISK_LEVELS)}


class ModelAnswerInvalid(ValueError):
    """The model's answer is not the JSON asked for."""


def json_object(content: str | None) -> dict:
    try:
        parsed = json.loads(content or "")
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ModelAnswerInvalid(f"The model did not answer with a JSON object: {(content or '')[:200]!r}")
    return parsed


# Documents: map and reduce ---------------------------------------------------------------------


def chunks_of(text: str, pages_per_chunk: int, max_chars: int) -> list[dict]:
    """Consecutive pages (form-feed separated) in chunks; a chunk longer than `max_chars` is cut
    at paragraph breaks, each piece keeping its pages."""
    pages = text.split("\f")
    chunks = []
    for first in range(0, len(pages), pages_per_chunk):
        group = pages[first : first + pages_per_chunk]
        span = [first + 1, first + len(group)]
        for piece in _pieces("\n\n".join(group), max_chars):
            chunks.append({"index": len(chunks), "input": {"text": piece, "pages": span}})
    return chunks


def _pieces(text: str, max_chars: int) -> list[str]:
    if len(text) <= max_chars:
        return [text] if text.strip() else []
    pieces, current = [], ""
    for paragraph in text.split("\n\n"):
        while len(paragraph) > max_chars:  # a paragraph longer than a chunk is cut where it must
            if current:
                pieces, current = [*pieces, current], ""
            pieces.append(paragraph[:max_chars])
            paragraph = paragraph[max_chars:]
        if current and len(current) + len(paragraph) + 2 > max_chars:
            pieces, current = [*pieces, current], ""
        current = f"{current}\n\n{paragraph}" if current else paragraph
    return [piece for piece in [*pieces, current] if piece.strip()]


def map_pages(turn: Turn, node: dict) -> NodeResult:
    """First run: cut the document into chunks and fan them out, one item each. Run again once
    every item is done or failed: count them (the reduce node merges them)."""
    items = list(RunItem.objects.filter(run=turn.run, node=turn.node_id).order_by("index"))
    if not items:
        text = DocumentAnalysis.objects.values_list("text", flat=True).get(pk=turn.run.analysis_id)
        chunks = chunks_of(text, node.get("pages_per_chunk", 2), node.get("max_chunk_chars", 12_000))
        return NodeResult({"chunks": {"total": len(chunks)}}, output={"chunks": len(chunks)},
                          fan_out=FanOut(chunks, node.get("max_attempts", 3)))  # fmt: skip
    if any(item.status in RunItem.OPEN for item in items):
        return NodeResult({}, fan_out=FanOut([]))
    done = [item for item in items if item.status == RunItem.Status.DONE]
    counts = {"total": len(items), "done": len(done), "failed": len(items) - len(done)}
    spent = SimpleNamespace(
        model=next((item.model for item in reversed(done) if item.model), ""),
        prompt_tokens=sum(item.prompt_tokens for item in items),
        completion_tokens=sum(item.completion_tokens for item in items),
        cost_usd=sum((item.cost_usd for item in items), 0),
    )
    return NodeResult({"chunks": counts}, completions=[spent])


def analyse_chunk(turn: Turn, node: dict, item: dict) -> tuple[dict, list]:
    """One item of the map step: the chunk's summary, findings, entities and risk flags."""
    completion = gateway.complete(
        wp.chunk_messages(item["text"], item["pages"]), profile=turn.profile(), json_response=True,
        links=turn.links(), purpose="analyse_chunk",
    )  # fmt: skip
    answer = json_object(completion.content)
    entities = answer.get("entities") if isinstance(answer.get("entities"), dict) else {}
    return {
        "summary": str(answer.get("summary") or "")[:1000],
        "findings": [
            {"text": str(finding.get("text", ""))[:600], "severity": finding.get("severity", "low")}
            for finding in answer.get("findings") or []
            if isinstance(finding, dict) and finding.get("text") and finding.get("severity") in SEVERITIES
        ],
        "entities": {kind: [str(value)[:200] for value in entities.get(kind) or []][:50] for kind in ENTITY_KINDS},
        "risk_flags": [str(flag)[:100] for flag in answer.get("risk_flags") or []][:20],
    }, [completion]


def reduce_items(turn: Turn, node: dict) -> NodeResult:
    """Merge the map node's items into the report: every finding with its chunk and pages, the
    entities and risk flags with the chunks they come from, the chunks that failed, and an
    executive summary. The report is recorded on the analysis with this step."""
    items = list(RunItem.objects.filter(run=turn.run, node=node["from"]).order_by("index"))
    findings, entities, flags, failed, parts = [], {kind: {} for kind in ENTITY_KINDS}, {}, [], []
    for item in items:
        where = {"chunk": item.index, "pages": item.input["pages"]}
        if item.status != RunItem.Status.DONE:
            failed.append({**where, "error": item.error, "attempts": item.attempts})
            continue
        output = item.output
        findings += [{**finding, **where} for finding in output["findings"]]
        for kind in ENTITY_KINDS:
            for value in output["entities"][kind]:
                entities[kind].setdefault(value, []).append(item.index)
        for flag in output["risk_flags"]:
            flags.setdefault(flag, []).append(item.index)
        top = "; ".join(finding["text"] for finding in output["findings"][:2])
        parts.append(f"Pages {where['pages'][0]}–{where['pages'][1]}: {output['summary']} {top}".strip())
    findings.sort(key=lambda finding: (-SEVERITIES.index(finding["severity"]), finding["chunk"]))
    completions, summary = [], ""
    if parts:
        completion = gateway.complete(
            wp.report_summary_messages(parts), profile=turn.profile(), links=turn.links(), purpose="summarize"
        )
        completions, summary = [completion], (completion.content or "").strip()
    report = {
        "executive_summary": summary,
        "findings": findings,
        "entities": {
            kind: [{"value": value, "chunks": chunks} for value, chunks in found.items()]
            for kind, found in entities.items()
        },  # fmt: skip
        "risk_flags": [{"flag": flag, "chunks": chunks} for flag, chunks in flags.items()],
        "failed_chunks": failed,
        "chunks": {"total": len(items), "analysed": len(items) - len(failed), "failed": len(failed)},
    }
    highest = findings[0]["severity"] if findings else "low"
    brief = {"summary": summary[:2000], "findings": len(findings), "failed_chunks": len(failed), "highest": highest}
    analysis_id = turn.run.analysis_id
    return NodeResult({"report": brief}, output={**brief, "chunks": report["chunks"]}, completions=completions,
                      effect=lambda: services.analysis_report_record(analysis_id, report))  # fmt: skip


# Applications ---------------------------------------------------------------------------------


def _application(turn: Turn) -> Application:
    return Application.objects.get(pk=turn.run.application_id)


def extract(turn: Turn, node: dict) -> NodeResult:
    """The schema's fields from the applicant, the documents and the fields given: asked once,
    asked again with the problems if the answer does not fit the schema, then flagged."""
    application, schema = _application(turn), node["schema"]
    messages = wp.extract_messages(schema, application.given_fields, application.applicant, application.documents)
    completions, fields, summary, problems = [], {}, "", []
    for _ in range(2):
        completion = gateway.complete(
            messages, profile=turn.profile(), json_response=True, links=turn.links(), purpose="extract"
        )
        completions.append(completion)
        fields, summary, problems = _fields_checked(completion.content, schema, application.given_fields)
        if not problems:
            break
        messages = wp.retry_messages(messages, completion.content or "", problems)
    missing = [name for name in schema.get("required", []) if name not in fields]
    extraction = {"flagged": bool(problems), "problems": problems, "missing": missing}
    return NodeResult({"fields": fields, "summary": summary, "extraction": extraction},
                      output={"fields": sorted(fields), "extraction": extraction}, completions=completions)  # fmt: skip


def _fields_checked(content: str | None, schema: dict, given: dict) -> tuple[dict, str, list[str]]:
    try:
        answer = json_object(content)
    except ModelAnswerInvalid as invalid:
        return {}, "", [str(invalid)]
    found = answer.get("fields") if isinstance(answer.get("fields"), dict) else {}
    properties = schema["properties"]
    fields = {name: value for name, value in {**found, **given}.items() if name in properties}
    problems = [
        f"{'.'.join(map(str, error.absolute_path)) or 'fields'}: {error.message}"
        for error in Draft202012Validator(schema).iter_errors(fields)
    ]
    return fields, str(answer.get("summary") or "")[:2000], problems


def lookup(turn: Turn, node: dict) -> NodeResult:
    """A safe tool's answer under `into` (`found` says whether it answered), acting for the
    applicant the caller named (their id in the shop)."""
    state = turn.state
    arguments = {name: jmespath.search(expression, state) for name, expression in node.get("arguments", {}).items()}
    arguments = {name: value for name, value in arguments.items() if value is not None}
    identifier = str((state.get("applicant") or {}).get("customer_id") or "") or None
    key = idempotency_key_for(turn.run.pk, f"{turn.node_id}.{state['visits'].get(turn.node_id, 0)}", node["tool"])
    result = tool_call(node["tool"], arguments, idempotency_key=key, customer=ToolCustomer(identifier=identifier))
    answer = {"found": True, **result.content} if result.ok else {"found": False, "error": result.error}
    trace = [{"name": node["tool"], "outcome": "ok" if result.ok else result.code, "replayed": result.replayed}]
    return NodeResult({node["into"]: answer}, output={"found": answer["found"]}, tools=trace)


def validate(turn: Turn, node: dict) -> NodeResult:
    """Each rule holds or fails (a failed hard rule rejects); with `llm_check` the model also
    says whether the fields agree with the documents (a doubt is a soft failure)."""
    passed, failed, completions = [], [], []
    for rule in node.get("rules", []):
        if truthy(jmespath.search(rule["when"], turn.state)):
            passed.append(rule["name"])
        else:
            failed.append({"name": rule["name"], "message": rule.get("message") or rule["name"],
                           "hard": bool(rule.get("hard", False))})  # fmt: skip
    if node.get("llm_check"):
        application = _application(turn)
        completion = gateway.complete(
            wp.check_messages(turn.state.get("fields", {}), application.documents), profile=turn.profile(),
            json_response=True, links=turn.links(), purpose="check",
        )  # fmt: skip
        completions.append(completion)
        check = json_object(completion.content)
        if check.get("consistent") is False:
            notes = "; ".join(map(str, check.get("notes") or [])) or "The fields do not agree with the documents."
            failed.append({"name": "documents_agree", "message": notes[:500], "hard": False})
    validation = {"passed": passed, "failed": failed, "hard_failed": any(rule["hard"] for rule in failed)}
    return NodeResult({"validation": validation}, completions=completions)


def assess_risk(turn: Turn, node: dict) -> NodeResult:
    """Level, score and factors: the rules that hold set the least level, the model assesses the
    rest; an answer it is not sure of (or flagged fields) goes to a person (`risk.unsure`)."""
    state = turn.state
    holding = [{"level": rule["level"], "factor": rule["factor"]} for rule in node.get("rules", [])
               if truthy(jmespath.search(rule["when"], state))]  # fmt: skip
    extraction = state.get("extraction", {})
    subject = {"fields": state.get("fields", {}), "validation": state.get("validation", {}),
               "missing": extraction.get("missing", []), "flagged": extraction.get("flagged", False)}  # fmt: skip
    completion = gateway.complete(
        wp.risk_messages(subject, holding), profile=turn.profile(), json_response=True, links=turn.links(),
        purpose="assess_risk",
    )  # fmt: skip
    answer = json_object(completion.content)
    level = answer.get("level") if answer.get("level") in RISK_LEVELS else "medium"
    level = max([level, *(rule["level"] for rule in holding)], key=RANK.get)
    factors = [*(rule["factor"] for rule in holding), *map(str, answer.get("factors") or [])]
    confidence = _number(answer.get("confidence"), 0.0, 1.0, default=0.0)
    risk = {
        "level": level,
        "score": int(_number(answer.get("score"), 0, 100, default=50)),
        "factors": list(dict.fromkeys(factor for factor in factors if factor))[:20],
        "confidence": confidence,
        "unsure": confidence < node.get("unsure_below", 0.6) or bool(extraction.get("flagged")),
    }
    return NodeResult({"risk": risk}, completions=[completion])


def _number(value, low: float, high: float, *, default: float) -> float:
    try:
        return max(low, min(high, float(value)))
    except (TypeError, ValueError):
        return default


def recommendation(state: dict) -> dict:
    """What the AI decides, or recommends to the reviewer: reject on a failed hard rule, with
    its reasons; approve otherwise."""
    validation = state.get("validation", {})
    hard = [rule["message"] for rule in validation.get("failed", []) if rule.get("hard")]
    if hard:
        return {"decision": "reject", "reasons": hard}
    risk = state.get("risk", {})
    reasons = [f"{risk.get('level', 'low').capitalize()} risk (score {risk.get('score', 0)})",
               *risk.get("factors", [])]  # fmt: skip
    return {"decision": "approve", "reasons": reasons}


def decide(turn: Turn, node: dict) -> NodeResult:
    """The automatic decision (the graph sends here what needs no person)."""
    return NodeResult({"outcome": {**recommendation(turn.state), "decided_by": "AI", "automatic": True}})


def notify(turn: Turn, node: dict) -> NodeResult:
    """Make the outcome known: recorded on the submission (status, decision, report) with this
    step, and POSTed to its callback URL once committed (`callback`, on by default)."""
    run, callback = turn.run, node.get("callback", True)
    return NodeResult({"notified": True}, output={"callback": callback},
                      effect=lambda: services.submission_record(run, callback=callback))  # fmt: skip


NODES = {
    "map": map_pages,
    "reduce": reduce_items,
    "extract": extract,
    "lookup": lookup,
    "validate": validate,
    "assess_risk": assess_risk,
    "decide": decide,
    "notify": notify,
}
ITEM_WORK = {"map": analyse_chunk}
