"""The pipeline engine: a run advances node by node through its pinned graph, with a checkpoint
after every node; a node (or a sink) may pause the run for a person's decision, which later
resumes it exactly where it stopped; a node may fan work out over the workers, one checkpointed
item each, and the run waits until every item is done or failed; a waiting turn can be diverted
to its handover sink.

Every finished node is a `RunStep` written in the same statement as the run's new state and
next node; a node that only reads and works out the next state (`STATE_ONLY`) has its step
written with the next one. A worker that dies mid-run leaves the run `running`, and whoever
advances it next continues after the last step written (running such a node again, if need
be). What a run's sinks do belongs to its kind (`Sinks`): a chat turn's
(agents.pipelines.turns) send a reply or hand the conversation over; a workflow's
(agents.workflows.runs) record the report or the decision on its submission.

Decisions are made in the reviews app, which sits above this one: it registers a `Reviews`
(`register_reviews`) that opens a review task inside the pausing transaction and cancels the
tasks of a run that will not wait any longer. Without it, a pause hands the run over instead.
"""

import functools
import json
import logging
import time
from dataclasses import dataclass
from importlib import import_module
from typing import Protocol

from celery import group
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from psycopg import sql
from psycopg.types.json import Jsonb

from agents.llm.gateway import BudgetExceeded, LLMUnavailable
from agents.models import PipelineRun, PipelineVersion, RunItem, RunStep
from agents.pipelines.graph import Graph
from agents.pipelines.nodes import ITEM_WORK, NODES, STATE_ONLY, NodeResult, Pause, Turn
from hilconsole.celery import app as celery_app
from hilconsole.celery import send_unawaited
from hilconsole.prepared import prepared_cursor

logger = logging.getLogger(__name__)

R = PipelineRun.Status
# A safety net beyond the graph's own bounds.
MAX_STEPS = 60


class Sinks(Protocol):
    """What ends or holds a run of one kind, in its subject (for turns: the conversation)."""

    def finish(self, run: PipelineRun, graph: Graph, node_id: str) -> None: ...

    def hand_over(self, run: PipelineRun, node: dict) -> None: ...

    def fail(self, run: PipelineRun, reason: str) -> None:
        """A run whose graph has no handover node cannot go on: it ends `failed` with the reason."""

    def paused(self, run: PipelineRun, pause: Pause) -> None:
        """Call inside the pausing transaction: tell whoever waits that a person decides now."""


class Reviews(Protocol):
    def open(self, run: PipelineRun, step_index: int, pause: Pause) -> int:
        """Call inside the pausing transaction: open the review task; returns its id."""

    def cancel(self, run: PipelineRun, reason: str) -> None:
        """Call inside a transaction: the run's open review tasks will not be decided."""


_reviews: Reviews | None = None


def register_reviews(reviews: Reviews) -> None:
    global _reviews
    _reviews = reviews


# Graphs ---------------------------------------------------------------------------------------

_graphs: dict[int, Graph] = {}


def graph_of(version: PipelineVersion) -> Graph:
    """Versions never change, so each process checks a version's graph once."""
    graph = _graphs.get(version.pk)
    if graph is None:
        graph = _graphs[version.pk] = Graph(version.graph, version.pipeline.kind)
    return graph


# Advancing ------------------------------------------------------------------------------------


def advance(run: PipelineRun, sinks: Sinks) -> None:
    """Run nodes until the run ends or waits. Call holding the run's subject lock (turn lock)."""
    graph = graph_of(run.version)
    if run.agent is None:  # its AI agent was deleted while it ran
        divert(run, graph, "repeated_errors")
    while run.status == R.RUNNING:
        node_id = run.next_node
        node = graph.nodes[node_id]
        kind = node["type"]
        if kind == "finish":
            sinks.finish(run, graph, node_id)
        elif kind == "handover":
            sinks.hand_over(run, node)
        elif run.state["steps"] >= MAX_STEPS:
            divert(run, graph, "loop_limit")
        else:
            _step(run, graph, node_id, node, sinks)
    write_unwritten_steps(run)  # every way a run stops writes them already; this keeps it so


def _step(run: PipelineRun, graph: Graph, node_id: str, node: dict, sinks: Sinks) -> None:
    state = run.state
    turn = Turn(run, run.agent, state, state["steps"], node_id, decision=_decision_for(state, node_id))
    started, clock = timezone.now(), time.perf_counter()
    try:
        result = NODES[node["type"]](turn, node)
    except BudgetExceeded as error:
        # Over budget or paused: a person answers rather than nobody (no apology for an outage).
        record_failure(run, node_id, node, started, clock, error)
        divert(run, graph, "budget_exceeded")
        return
    except LLMUnavailable as error:
        record_failure(run, node_id, node, started, clock, error)
        divert(run, graph, "ai_unavailable")
        return
    except Exception as error:
        logger.exception("Node %s of run %s failed", node_id, run.pk)
        state["errors"] += 1
        record_failure(run, node_id, node, started, clock, error)
        if state["errors"] >= run.agent.max_consecutive_errors:
            divert(run, graph, "repeated_errors")
        return
    # The decision has been used: the checkpoint below records what came of it.
    if state.pop("decision", None) is not None:
        state["decided"] = True
    state.pop("paused", None)
    state.update(result.updates)
    state["errors"] = 0
    if result.pause:
        pause(run, graph, node_id, node["type"], result.pause, started, clock, result)
        return
    if result.fan_out is not None:
        wait_for_items(run, node_id, node["type"], result, started, clock)
        return
    state["visits"][node_id] = state["visits"].get(node_id, 0) + 1
    edge = graph.route(node_id, state, suppressed=tuple(state["suppressed"]))
    if edge.reason:
        state["reason"] = edge.reason
    target = edge.target
    limit = graph.nodes[target].get("max_visits")
    if limit and state["visits"].get(target, 0) >= limit:
        if graph.handover_sink() is None:
            divert(run, graph, "loop_limit")
            return
        state["reason"], target = "loop_limit", graph.handover_sink()
    if result.effect is None and not result.completions and not result.tools and node["type"] in STATE_ONLY:
        # Nothing but the run's state came of it: its step is written with the next one. A worker
        # that dies before then runs it again, which changes nothing.
        checkpoint(run, node_id, node["type"], started, clock, result, next_node=target, deferred=True)
        return
    if result.effect is None:
        checkpoint(run, node_id, node["type"], started, clock, result, next_node=target)
        return
    with transaction.atomic():
        result.effect()
        checkpoint(run, node_id, node["type"], started, clock, result, next_node=target)


def _decision_for(state: dict, node_id: str) -> dict | None:
    paused = state.get("paused")
    if paused and paused["node"] == node_id and state.get("decision", {}).get("step") == paused["step"]:
        return state["decision"]
    return None


def divert(run: PipelineRun, graph: Graph, reason: str) -> None:
    """Send the run to its handover sink, for `reason`; a run whose graph has none fails."""
    write_unwritten_steps(run)
    run.state["reason"] = reason
    sink = graph.handover_sink()
    if sink is None:
        run_sinks(run).fail(run, reason)
        return
    run.next_node = sink
    run.save(update_fields=["state", "next_node", "updated_at"])


# Pausing and resuming -------------------------------------------------------------------------


@dataclass
class Decision:
    """A person's decision on a paused run (`ReviewTask` statuses)."""

    status: str  # approved, edited, rejected, responded, expired
    arguments: dict | None = None
    comment: str = ""
    message: str = ""
    decided_by: str = ""
    decided_by_id: int | None = None
    task_id: int | None = None

    def as_state(self, step: int) -> dict:
        return {**self.__dict__, "step": step}


def pause(run, graph, node_id, node_type, wanted: Pause, started, clock, result=None) -> None:
    """The run waits for a person's decision, at `node_id`, which runs again with the decision.

    The step, the run's `waiting` state, the review task and the customer's notice commit
    together: nothing of the wait lives in memory.
    """
    if _reviews is None:
        # Nobody can decide here: a person takes the whole conversation instead.
        run.state["pending_action"] = wanted.proposal
        divert(run, graph, "approval_required")
        return
    with transaction.atomic():
        index = run.state["steps"]
        run.state["paused"] = {"node": node_id, "kind": wanted.kind, "step": index, "resume": wanted.resume}
        if wanted.kind == "tool_call":
            run.state["pending_action"] = {"tool": wanted.proposal["tool"], "arguments": wanted.proposal["arguments"]}
        run.status = R.WAITING
        result = result or NodeResult({})
        output = {"waiting_for": wanted.kind, **{k: v for k, v in wanted.proposal.items() if k != "draft"}}
        checkpoint(run, node_id, node_type, started, clock, result, next_node=node_id, output=output)
        _reviews.open(run, index, wanted)
        run_sinks(run).paused(run, wanted)


def run_decide(run_id: int, step_index: int, decision: Decision) -> PipelineRun | None:
    """Call inside the decision's transaction: the waiting run takes the decision and is ready to
    go on, and once committed it is resumed. Returns None if the run no longer waits for the
    decision of step `step_index` (the review task's).

    The run is `running` again from this commit on, so if the resume request is lost (a broker
    error, a worker killed before the tool call) the stalled-run sweep resumes it: the decided
    action still happens, once, under the idempotency key the review task showed.
    """
    run = PipelineRun.objects.select_for_update().filter(pk=run_id).first()
    paused = run and run.state.get("paused")
    if run is None or run.status != R.WAITING or not paused or paused["step"] != step_index:
        return None
    run.state["decision"] = decision.as_state(paused["step"])
    run.status = R.RUNNING
    run.save(update_fields=["state", "status", "updated_at"])
    _resume_on_commit(run)
    return run


def run_stop_waiting(run_id: int, reason: str) -> PipelineRun | None:
    """Call inside a transaction: a waiting run will get no decision (the customer asked for a
    person, a reviewer took the conversation over, the deadline's policy hands it over). It goes
    to its handover sink with `reason`, and its open review tasks are cancelled."""
    run = PipelineRun.objects.select_for_update().select_related("version__pipeline").filter(pk=run_id).first()
    if run is None or run.status != R.WAITING or graph_of(run.version).handover_sink() is None:
        return None
    run.state.pop("paused", None)
    run.state["reason"] = reason
    run.status = R.RUNNING
    run.next_node = graph_of(run.version).handover_sink()
    run.save(update_fields=["state", "status", "next_node", "updated_at"])
    if _reviews is not None:
        _reviews.cancel(run, reason)
    _resume_on_commit(run)
    return run


def run_end_waiting(run_id: int, reason: str) -> PipelineRun | None:
    """Call inside a transaction: a waiting run ends now, handed over, because a person takes
    its subject over themselves (the caller moves the conversation). Its step says why."""
    run = PipelineRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.status != R.WAITING:
        return None
    node_id = run.state.pop("paused", {}).get("node", run.next_node)
    run.reason = reason
    started = timezone.now()
    close_step(run, node_id, "handover", started, time.perf_counter(), {"code": reason}, status=R.HANDED_OVER)
    return run


def _resume_on_commit(run: PipelineRun) -> None:
    # Robust: a broker error must not undo the committed decision; the sweep resumes the run.
    transaction.on_commit(lambda: send_unawaited("agents.resume_run", args=[run.pk]), robust=True)


# Where each kind's sinks live: they build on the engine, so they are imported when first needed.
SINKS_OF_KIND = {
    PipelineRun.Kind.TURN: "agents.pipelines.turns",
    PipelineRun.Kind.DOCUMENT_ANALYSIS: "agents.workflows.runs",
    PipelineRun.Kind.APPLICATION: "agents.workflows.runs",
}


def run_sinks(run: PipelineRun) -> Sinks:
    return import_module(SINKS_OF_KIND[run.kind]).SINKS


# Fanning out ----------------------------------------------------------------------------------


def wait_for_items(run, node_id, node_type, result: NodeResult, started, clock) -> None:
    """The run waits for its items at `node_id`, durably: the step, the items and the run's
    `waiting` state commit together, and once committed each open item goes to the workers. When
    the last item is done or failed the run goes on, and the node runs again to gather them."""
    fan_out = result.fan_out
    with transaction.atomic():
        run.state["paused"] = {"node": node_id, "kind": "items", "step": run.state["steps"]}
        run.status = R.WAITING
        RunItem.objects.bulk_create(
            [RunItem(run=run, node=node_id, index=item["index"], input=item["input"],
                     max_attempts=fan_out.max_attempts) for item in fan_out.items],
            ignore_conflicts=True,
        )  # fmt: skip
        output = {"waiting_for": "items", "items": len(fan_out.items), **(result.output or {})}
        checkpoint(run, node_id, node_type, started, clock, result, next_node=node_id, output=output)
        open_items = list(
            RunItem.objects.filter(run=run, node=node_id, status__in=RunItem.OPEN).values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: items_send(open_items), robust=True)


def items_send(item_ids: list[int]) -> None:
    """Each item as a task of its own (a Celery group): the workers take them in parallel."""
    if item_ids:
        group(celery_app.signature("agents.run_item", args=[item_id]) for item_id in item_ids).apply_async()


def item_process(item_id: int, claimant: str) -> str:
    """Do one item's work, once: `done`, `failed` (its last attempt failed), `retry` (it failed
    and may try again), or `skipped` (done already, held by another task, or its run stopped
    waiting). `claimant` is the task's id: a redelivery of the same task (its worker died) takes
    the item back; any other task leaves an item that is running alone."""
    item = _item_claim(item_id, claimant)
    if item is None:
        return "skipped"
    run = item.run
    node = graph_of(run.version).nodes[item.node]
    turn = Turn(run, run.agent, run.state, run.state.get("paused", {}).get("step", 0), item.node)
    clock = time.perf_counter()
    try:
        output, completions = ITEM_WORK[node["type"]](turn, node, item.input)
    except Exception as error:
        if not isinstance(error, LLMUnavailable):
            logger.exception("Item %s of run %s failed", item.index, run.pk)
        final = isinstance(error, BudgetExceeded) or item.attempts >= item.max_attempts
        closed = _item_close(item, RunItem.Status.FAILED if final else RunItem.Status.PENDING,
                             error=f"{type(error).__name__}: {error}"[:2000])  # fmt: skip
        return ("failed" if final else "retry") if closed else "skipped"
    closed = _item_close(
        item, RunItem.Status.DONE, output=output, error="", model=completions[-1].model if completions else "",
        prompt_tokens=sum(c.prompt_tokens for c in completions),
        completion_tokens=sum(c.completion_tokens for c in completions),
        cost_usd=sum((c.cost_usd for c in completions), 0), latency_ms=(time.perf_counter() - clock) * 1000,
    )  # fmt: skip
    return "done" if closed else "skipped"


def _item_claim(item_id: int, claimant: str) -> RunItem | None:
    """Mark the item running for this task, in one conditional UPDATE: two deliveries of an
    item's task never both work on it. A running item is taken back by a redelivery of the task
    that holds it, or once it has run past the task time limit (its worker is surely gone)."""
    stale = timezone.now() - timezone.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    takeable = (
        Q(status=RunItem.Status.PENDING)
        | Q(status=RunItem.Status.RUNNING, claimed_by=claimant)
        | Q(status=RunItem.Status.RUNNING, updated_at__lt=stale)
    )
    claimed = (
        RunItem.objects.filter(takeable, pk=item_id, run__status=R.WAITING)
        .update(status=RunItem.Status.RUNNING, attempts=F("attempts") + 1, claimed_by=claimant,
                updated_at=timezone.now())
    )  # fmt: skip
    if not claimed:
        return None
    return RunItem.objects.select_related("run__agent__default_profile", "run__version__pipeline").get(pk=item_id)


def _item_close(item: RunItem, status: str, **fields) -> bool:
    """Record the item's outcome, unless another task took it over meanwhile. Holding the run's
    row lock, items closing at once are counted one after the other: the last one to close
    finds none open and sends the run on (once)."""
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().get(pk=item.run_id)
        finished_at = timezone.now() if status != RunItem.Status.PENDING else None
        closed = RunItem.objects.filter(
            pk=item.pk, status=RunItem.Status.RUNNING, claimed_by=item.claimed_by, attempts=item.attempts
        ).update(status=status, finished_at=finished_at, updated_at=timezone.now(), **fields)
        if not closed:
            return False
        waiting_here = run.status == R.WAITING and run.state.get("paused", {}).get("node") == item.node
        if waiting_here and not RunItem.objects.filter(run=run, node=item.node, status__in=RunItem.OPEN).exists():
            run.status = R.RUNNING
            run.save(update_fields=["status", "updated_at"])
            _resume_on_commit(run)
    return True


def stalled_items(limit: int = 500) -> list[int]:
    """Open items of waiting runs that no worker finished within the task time limit: their
    task was lost on the way (a broker error, a whole worker gone). A repeat is harmless: the
    claim lets only one task work on an item."""
    stale = timezone.now() - timezone.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    items = RunItem.objects.filter(status__in=RunItem.OPEN, updated_at__lt=stale, run__status=R.WAITING)
    return list(items.order_by("updated_at").values_list("pk", flat=True)[:limit])


# Checkpoints ----------------------------------------------------------------------------------


def checkpoint(
    run, node_id, node_type, started, clock, result: NodeResult, *, next_node: str, output=None, deferred=False
) -> None:
    """The node's step and the run's new state and next node, committed together; `deferred`:
    written with the run's next step (`write_step`)."""
    completions = result.completions
    run.next_node = next_node
    if output is None:
        output = result.output if result.output is not None else result.updates
    write_step(
        run,
        node=node_id,
        node_type=node_type,
        output=output,
        model=completions[-1].model if completions else "",
        prompt_tokens=sum(c.prompt_tokens for c in completions),
        completion_tokens=sum(c.completion_tokens for c in completions),
        cost_usd=sum((c.cost_usd for c in completions), 0),
        latency_ms=(time.perf_counter() - clock) * 1000,
        tools=result.tools,
        started_at=started,
        deferred=deferred,
    )


def close_step(run, node_id, kind, started, clock, output, *, status=None) -> None:
    """Call inside a sink's transaction: the step, and the run's end or restart, commit together."""
    if status:
        run.status, run.next_node, run.finished_at = status, "", timezone.now()
    write_step(
        run, node=node_id, node_type=kind, output=output, latency_ms=(time.perf_counter() - clock) * 1000,
        started_at=started,
    )  # fmt: skip


# The run's columns a step writes, and the step's own: every concrete field of each model except
# the run's identity and what never changes after it starts (a new field must be added here, and
# tests/agents/test_engine.py fails until it is).
RUN_FIELDS = ("state", "next_node", "last_message_id", "status", "reason", "finished_at", "updated_at")
STEP_FIELDS = (
    "run_id", "index", "node", "node_type", "status", "input", "output", "model", "prompt_tokens",
    "completion_tokens", "cost_usd", "latency_ms", "tools", "error", "started_at", "finished_at",
)  # fmt: skip
JSON_STEP_FIELDS = ("input", "output", "tools")


def write_step(run: PipelineRun, *, deferred: bool = False, **step) -> None:
    """Insert the run's next step and save the run, in one prepared statement: one round trip,
    atomic on its own. A step follows every node, which makes this the most frequent write of a
    run; the server binds its values (the run's state among them) rather than reading them
    quoted into the statement's text.

    `deferred`: the step of a node that wrote nothing else (`STATE_ONLY`) waits in memory
    and is inserted with the run's next step, saving a round trip, a commit and a copy of the
    run's state (with a chat turn's history, a step's largest part)."""
    now = timezone.now()
    values = {
        "run_id": run.pk, "index": run.state["steps"], "status": RunStep.Status.OK, "model": "",
        "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0, "tools": [], "error": "", "finished_at": now,
        "input": input_of(step["node_type"], run.state), **step,
    }  # fmt: skip
    for field in JSON_STEP_FIELDS:
        values[field] = _json(values[field])
    run.state["steps"] += 1
    steps = [*_unwritten(run), [values[field] for field in STEP_FIELDS]]
    run._unwritten_steps = steps if deferred else []
    if not deferred:
        _write(run, steps, now)


def write_unwritten_steps(run: PipelineRun) -> None:
    """Write the steps waiting in memory (`write_step`), and the run with them, before the run
    is saved any other way."""
    if steps := _unwritten(run):
        run._unwritten_steps = []
        _write(run, steps, timezone.now())


def _unwritten(run: PipelineRun) -> list:
    return getattr(run, "_unwritten_steps", [])


def _write(run: PipelineRun, steps: list[list], now) -> None:
    run.updated_at = now
    with prepared_cursor() as cursor:
        cursor.execute(
            _step_statement(len(steps)),
            [*(value for step in steps for value in step), _json(run.state),
             *(getattr(run, field) for field in RUN_FIELDS[1:]), run.pk],
        )  # fmt: skip


@functools.cache
def _step_statement(count: int) -> str:
    """`count` steps inserted and the run updated. Rendered once per count: composing it again
    for every step cost a tenth of the step's write."""
    columns = [RunStep._meta.get_field(name.removesuffix("_id")).column for name in STEP_FIELDS]
    run_columns = [PipelineRun._meta.get_field(name).column for name in RUN_FIELDS]
    row = sql.SQL("({})").format(sql.SQL(", ").join(sql.Placeholder() * len(columns)))
    statement = "WITH step AS (INSERT INTO {steps} ({columns}) VALUES {rows}) UPDATE {runs} SET {sets} WHERE {id} = %s"
    return (
        sql.SQL(statement)
        .format(
            steps=sql.Identifier(RunStep._meta.db_table),
            columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
            rows=sql.SQL(", ").join([row] * count),
            runs=sql.Identifier(PipelineRun._meta.db_table),
            sets=sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(column)) for column in run_columns),
            id=sql.Identifier(PipelineRun._meta.pk.column),
        )
        .as_string()
    )


def _json(value) -> Jsonb:
    """`value` as JSON, serialised now: a step written with a later one keeps what its node
    returned, whatever later nodes do to the same objects in the run's state."""
    return Jsonb(json.dumps(value, cls=DjangoJSONEncoder), dumps=_unchanged)


def _unchanged(text: str) -> str:
    return text


def record_failure(run, node_id, node, started, clock, error) -> None:
    with transaction.atomic():
        write_unwritten_steps(run)
        RunStep.objects.create(
            run=run,
            index=run.state["steps"],
            node=node_id,
            node_type=node["type"],
            status=RunStep.Status.ERROR,
            input=input_of(node["type"], run.state),
            latency_ms=(time.perf_counter() - clock) * 1000,
            error=f"{type(error).__name__}: {error}"[:2000],
            started_at=started,
        )
        run.state["steps"] += 1
        run.save(update_fields=["state", "updated_at"])


def input_of(kind: str, state: dict) -> dict:
    if "question" not in state:  # a workflow's run: its subject holds the input
        return {"subject": state.get("subject", "")}
    seen = {"question": state["question"][:2000]}
    if kind == "answer":
        seen["passages"] = [passage["title"] for passage in state.get("passages", [])]
        seen["tools"] = state["allowed_tools"]
    return seen
