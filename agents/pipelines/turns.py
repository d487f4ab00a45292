"""Chat turns: a conversation's waiting customer messages, answered by its AI agent's pinned
pipeline through the engine (agents.pipelines.engine), and the sinks that end a turn in the
conversation: the reply, the handover, and the notice that a person is deciding.

A conversation's turns never overlap: a PostgreSQL advisory lock per conversation serialises
them. Side effects are keyed so a repeat does nothing: tool calls by idempotency key, the
reply, the handover notice and the holding notice by a message key per run, and the
conversation's state by its transition checks.
"""

import functools
import logging
import time
import uuid
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from psycopg import sql

from agents.guardrails.human_request import asks_for_a_person
from agents.llm.local.answers import extractive_summary
from agents.models import AIAgent, DraftReview, ModelProfile, PipelineRun, PipelineVersion, PromptVersion, Tool
from agents.pipelines import engine, locks
from agents.pipelines.engine import close_step
from agents.pipelines.graph import Graph
from agents.pipelines.locks import _connection_for_locks  # noqa: F401  (tests reach the lock connection)
from agents.pipelines.nodes import Pause, transcript_text
from conversations import services as conversations
from conversations.models import Conversation, Inbox, Message, person_name
from hilconsole.celery import send_unawaited
from hilconsole.prepared import columns, insert_row, instance, prepared_cursor

logger = logging.getLogger(__name__)

S = Conversation.Status
R = PipelineRun.Status
# A conversation's runs one task advances before it lets other conversations' turns go first.
MAX_RUNS_PER_TASK = 5
# Messages that arrive while a turn runs are folded into it (once or twice), so the customer
# gets one answer to everything they said rather than an answer to half of it.
MAX_ABSORBED = 2
HISTORY_LENGTH = 20
# Messages read before a turn: the history, and the AI replies in a row for the turn limit.
RECENT_MESSAGES = 60

REASONS = {
    "human_request": "The customer asked for a person",
    "low_confidence": "The AI was not confident what the customer wants",
    "complaint": "The customer is complaining",
    "ai_decided": "The AI decided a person should answer",
    "approval_required": "The AI wanted to take an action that needs approval",
    "prompt_injection": "The message looked like an attempt to manipulate the AI",
    "ai_unavailable": "The AI models could not be reached",
    "budget_exceeded": "The AI reached its spending budget",
    "agent_paused": "The AI agent is paused by its cost circuit breaker",
    "repeated_errors": "The AI pipeline failed repeatedly",
    "turn_limit": "The AI answered many times in a row without resolving it",
    "loop_limit": "The AI pipeline went round in circles",
    "empty_reply": "The AI produced no reply",
    "no_ai_agent": "This inbox has no AI agent",
    "reviewer_took_over": "A reviewer took the conversation over",
    "review_expired": "Nobody decided on the AI's action in time",
    "draft_rejected": "A reviewer held back the AI's reply",
}
APOLOGY_REASONS = {"ai_unavailable", "repeated_errors", "loop_limit", "empty_reply"}
# A person may always be asked for again, even right after handing the conversation back.
NEVER_SUPPRESSED = {"human_request"}
NO_AGENT_MESSAGE = "A person from our team will reply here as soon as they can."


class TurnBusy(Exception):
    """Another worker is running a turn of this conversation right now."""


# The turn lock ------------------------------------------------------------------------------

TURN_LOCK_NAMESPACE = 7301


def turn_lock(conversation_id: int):
    """Yields whether this process holds the conversation's turn lock (see `locks.advisory_lock`:
    a dead worker's lock goes with its connection, so the redelivered turn can go on at once)."""
    return locks.advisory_lock(TURN_LOCK_NAMESPACE, conversation_id)


def turn_locks_close() -> None:
    """Close this process's lock connection (before its database is dropped, in tests)."""
    locks.locks_close()


# Turns ---------------------------------------------------------------------------------------


def turn_run(conversation_id: int, *, requested_at: float | None = None) -> list[int]:
    """Answer the conversation's waiting customer messages; returns the runs advanced.

    `requested_at` (epoch seconds) is when the turn was asked for: the trace shows the wait.
    Raises TurnBusy when another worker runs a turn of this conversation: the caller retries
    later, and then finds the messages answered or still waiting.
    """
    timing = {"requested_at": requested_at, "picked_up_at": time.time()}
    with turn_lock(conversation_id) as held:
        if not held:
            raise TurnBusy(f"A turn of conversation {conversation_id} is running.")
        advanced = []
        for _ in range(MAX_RUNS_PER_TASK):
            run = _open_run(conversation_id, timing)
            if run is None:
                return advanced
            engine.advance(run, SINKS)
            advanced.append(run.pk)
            if not run.state.get("more_waiting"):
                return advanced  # the run saw no later message when it ended, and later ones request a turn
    # The customer kept writing through several turns: the rest is answered by a new task, so
    # other conversations' turns are not held up behind this one.
    send_unawaited("agents.run_turn", args=[conversation_id], kwargs={"requested_at": time.time()})
    return advanced


def _open_run(conversation_id: int, timing: dict) -> PipelineRun | None:
    """The run to advance: one a dead worker left running, or a new one for waiting messages."""
    with transaction.atomic():
        conversation = _locked_with_agent(conversation_id)
        if conversation is None or conversation.status not in conversations.AI_STATES:
            return None
        # A run is open only while its conversation is in ai_processing (they change together).
        if conversation.status == S.AI_PROCESSING:
            open_run = _runs().filter(conversation_id=conversation_id, status__in=PipelineRun.ACTIVE).first()
            if open_run and open_run.status == R.WAITING:
                _while_a_person_decides(open_run, waiting_messages(conversation))
                return None
            if open_run:
                return open_run
        waiting = waiting_messages(conversation)
        if not waiting:
            if conversation.status == S.AI_PROCESSING:
                # Nothing runs and nothing waits: the customer must not see the AI "typing" forever.
                conversations.conversation_finish(conversation.pk, locked=conversation)
            return None
        agent = conversation.inbox.ai_agent
        if agent is None:
            _hand_over_without_ai(conversation)
            return None
        # The run reads the status the conversation had (handed back by a person?) before it moves.
        run = _new_run(conversation, agent, waiting, timing)
        if conversation.status != S.AI_PROCESSING:
            conversations.conversation_start_ai(conversation.pk, locked=conversation)
        run.agent, run.version = agent, agent.pipeline_version
        return run


def _locked_with_agent(conversation_id: int) -> Conversation | None:
    """Call inside a transaction: the conversation, locked, with its inbox and the inbox's AI
    agent (None without one), the agent's pipeline version, prompt and default model profile.
    One prepared statement: every turn starts with it."""
    with prepared_cursor() as cursor:
        cursor.execute(_conversation_with_agent(), [conversation_id])
        row = cursor.fetchone()
    if row is None:
        return None
    loaded = []
    for model in _WITH_AGENT:
        width = len(model._meta.concrete_fields)
        values, row = row[:width], row[width:]
        loaded.append(instance(model, values) if values[0] is not None else None)
    conversation, inbox, agent, version, prompt, profile = loaded
    conversation.inbox, inbox.ai_agent = inbox, agent
    if agent is not None:
        agent.pipeline_version, agent.system_prompt, agent.default_profile = version, prompt, profile
    return conversation


_WITH_AGENT = (Conversation, Inbox, AIAgent, PipelineVersion, PromptVersion, ModelProfile)


@functools.cache
def _conversation_with_agent() -> str:
    def column(model, name):
        return sql.Identifier(model._meta.get_field(name).column)

    return (
        sql.SQL(
            "SELECT {selected} FROM {conversations} c JOIN {inboxes} i ON i.{inbox_id} = c.{inbox}"
            " LEFT JOIN {agents} a ON a.{agent_id} = i.{ai_agent}"
            " LEFT JOIN {versions} v ON v.{version_id} = a.{pipeline_version}"
            " LEFT JOIN {prompts} p ON p.{prompt_id} = a.{system_prompt}"
            " LEFT JOIN {profiles} d ON d.{profile_id} = a.{default_profile}"
            " WHERE c.{conversation_id} = %s FOR UPDATE OF c"
        )
        .format(
            selected=sql.SQL(", ").join(map(columns, _WITH_AGENT, "ciavpd")),
            conversations=sql.Identifier(Conversation._meta.db_table),
            inboxes=sql.Identifier(Inbox._meta.db_table),
            agents=sql.Identifier(AIAgent._meta.db_table),
            versions=sql.Identifier(PipelineVersion._meta.db_table),
            prompts=sql.Identifier(PromptVersion._meta.db_table),
            profiles=sql.Identifier(ModelProfile._meta.db_table),
            conversation_id=sql.Identifier(Conversation._meta.pk.column),
            inbox_id=sql.Identifier(Inbox._meta.pk.column),
            agent_id=sql.Identifier(AIAgent._meta.pk.column),
            version_id=sql.Identifier(PipelineVersion._meta.pk.column),
            prompt_id=sql.Identifier(PromptVersion._meta.pk.column),
            profile_id=sql.Identifier(ModelProfile._meta.pk.column),
            inbox=column(Conversation, "inbox"),
            ai_agent=column(Inbox, "ai_agent"),
            pipeline_version=column(AIAgent, "pipeline_version"),
            system_prompt=column(AIAgent, "system_prompt"),
            default_profile=column(AIAgent, "default_profile"),
        )
        .as_string()
    )


def _while_a_person_decides(run: PipelineRun, waiting: list[Message]) -> None:
    """Call holding the conversation row lock. The customer wrote while a reviewer decides: a
    request for a person hands the conversation over now (the reviewer's task is cancelled);
    anything else waits, and the run folds it in once it goes on."""
    if any(asks_for_a_person(message.content) for message in waiting):
        engine.run_stop_waiting(run.pk, "human_request")


def _runs():
    return PipelineRun.objects.select_related("version", "agent__default_profile")


def waiting_messages(conversation: Conversation) -> list[Message]:
    """The customer's messages nobody has dealt with yet, oldest first: after the newest one a
    run covered, and after what a person handled (`handled_through`: their reply, their resolve).

    Bounded by what runs covered, not by AI replies: a reply sent while newer messages waited
    (folded out past the absorb limit) must not hide those messages from the next run.
    """
    return _customer_messages(_waiting_messages(), conversation, handled_through=conversation.handled_through)


def customer_messages_after(conversation: Conversation, after_id: int) -> list[Message]:
    """The customer's messages after message `after_id`, oldest first (one prepared statement)."""
    return _customer_messages(_customer_messages_after(), conversation, after=after_id)


def _customer_messages(statement: str, conversation: Conversation, **params) -> list[Message]:
    """The conversation's customer messages a prepared statement selects (`columns(Message, "m")`)."""
    with prepared_cursor() as cursor:
        cursor.execute(statement, {"conversation": conversation.pk, "sender": Message.Sender.CUSTOMER.value, **params})
        rows = cursor.fetchall()
    messages = [instance(Message, row) for row in rows]
    for message in messages:
        message.conversation = conversation
    return messages


def _customer_messages_after() -> str:
    return _customer_messages_where("m.{id} > %(after)s")


def _waiting_messages() -> str:
    return _customer_messages_where(
        "m.{id} > %(handled_through)s AND m.{id} > COALESCE((SELECT max(r.{last_message_id}) FROM {runs} r"
        " WHERE r.{run_conversation} = %(conversation)s), 0)"
    )


@functools.cache
def _customer_messages_where(condition: str) -> str:
    """The conversation's customer messages (`m`) where `condition`, oldest first, as
    `_customer_messages` reads them. `condition` may name the message's {id} and the runs'
    table ({runs}) with its {last_message_id} and {run_conversation} columns."""
    runs = PipelineRun._meta
    return (
        sql.SQL(
            "SELECT {message} FROM {messages} m WHERE m.{of_conversation} = %(conversation)s"
            f" AND m.{{sender}} = %(sender)s AND {condition} ORDER BY m.{{id}}"
        )
        .format(
            message=columns(Message, "m"),
            messages=sql.Identifier(Message._meta.db_table),
            of_conversation=sql.Identifier(Message._meta.get_field("conversation").column),
            sender=sql.Identifier(Message._meta.get_field("sender").column),
            id=sql.Identifier(Message._meta.pk.column),
            runs=sql.Identifier(runs.db_table),
            last_message_id=sql.Identifier(runs.get_field("last_message_id").column),
            run_conversation=sql.Identifier(runs.get_field("conversation").column),
        )
        .as_string()
    )


def _covered_by_runs(conversation_ref):
    """The newest customer message the conversation's runs covered (a subquery)."""
    runs = PipelineRun.objects.filter(conversation=conversation_ref).values("conversation")
    return runs.annotate(last=Max("last_message_id")).values("last")


def _new_run(conversation: Conversation, agent: AIAgent, waiting: list[Message], timing: dict) -> PipelineRun:
    graph = engine.graph_of(agent.pipeline_version)
    earlier = _earlier_messages(conversation, waiting[0].pk)
    state = {
        "question": "\n".join(message.content for message in waiting),
        "message_ids": [message.pk for message in waiting],
        "history": _history(earlier),
        "inbox_id": conversation.inbox_id,
        "threshold": agent.confidence_threshold,
        "system_prompt": agent.system_prompt.text,
        "allowed_tools": _allowed_tools(agent),
        "suppressed": _suppressed_reasons(conversation),
        "turns": _ai_replies_in_a_row(earlier),
        "turn_limit": agent.turn_limit,
        "errors": 0,
        "steps": 0,
        "visits": {},
        "absorbed": 0,
        "timing": timing,
    }
    next_node = graph.start
    if agent.paused_at is not None:
        state["reason"], next_node = "agent_paused", graph.handover_sink()
    elif state["turns"] >= agent.turn_limit:
        state["reason"], next_node = "turn_limit", graph.handover_sink()
    run = PipelineRun(
        conversation=conversation,
        agent=agent,
        version=agent.pipeline_version,
        trace_id=uuid.uuid4().hex,
        state=state,
        next_node=next_node,
        last_message_id=waiting[-1].pk,
    )
    return insert_row(run)


class Earlier(NamedTuple):
    """What a run reads of a message before it: who wrote it and what (the history), and whether
    an AI message handed the conversation over (the AI's replies in a row)."""

    sender: str
    author_name: str
    content: str
    handed_over: bool


def _earlier_messages(conversation: Conversation, before_id: int) -> list[Earlier]:
    """The RECENT_MESSAGES messages before message `before_id`, oldest first. Only their columns
    that the run reads: a long conversation's sixty messages as model instances, with their
    metadata and timestamps, cost more than the rest of opening the run."""
    with prepared_cursor() as cursor:
        cursor.execute(_earlier_messages_statement(), [conversation.pk, before_id, RECENT_MESSAGES])
        rows = cursor.fetchall()
    authors = {author_id for _, author_id, _, _ in rows if author_id is not None}
    people = get_user_model().objects.select_related("human_agent").in_bulk(authors) if authors else {}
    return [
        Earlier(sender, _name_of(sender, people.get(author_id)), content, bool(handover))
        for sender, author_id, content, handover in reversed(rows)
    ]


def _name_of(sender: str, author) -> str:
    """As `Message.author_name` names a person's message (the others' names are not read)."""
    return person_name(author) if author is not None and sender in (Message.Sender.HUMAN, Message.Sender.NOTE) else ""


@functools.cache
def _earlier_messages_statement() -> str:
    field = Message._meta.get_field
    return (
        sql.SQL(
            "SELECT m.{sender}, m.{author}, m.{content}, m.{metadata} -> 'handover' FROM {messages} m"
            " WHERE m.{of_conversation} = %s AND m.{id} < %s ORDER BY m.{id} DESC LIMIT %s"
        )
        .format(
            sender=sql.Identifier(field("sender").column),
            author=sql.Identifier(field("author").column),
            content=sql.Identifier(field("content").column),
            metadata=sql.Identifier(field("metadata").column),
            messages=sql.Identifier(Message._meta.db_table),
            of_conversation=sql.Identifier(field("conversation").column),
            id=sql.Identifier(Message._meta.pk.column),
        )
        .as_string()
    )


def _allowed_tools(agent: AIAgent) -> list[str]:
    """The names of the tools the agent may call, sorted."""
    with prepared_cursor() as cursor:
        cursor.execute(_allowed_tools_statement(), [agent.pk])
        return sorted(name for (name,) in cursor.fetchall())


@functools.cache
def _allowed_tools_statement() -> str:
    allowed = AIAgent.allowed_tools.through._meta
    return (
        sql.SQL("SELECT t.{name} FROM {tools} t JOIN {allowed} a ON a.{tool} = t.{id} WHERE a.{agent} = %s")
        .format(
            name=sql.Identifier(Tool._meta.get_field("name").column),
            tools=sql.Identifier(Tool._meta.db_table),
            allowed=sql.Identifier(allowed.db_table),
            tool=sql.Identifier(allowed.get_field("tool").column),
            id=sql.Identifier(Tool._meta.pk.column),
            agent=sql.Identifier(allowed.get_field("aiagent").column),
        )
        .as_string()
    )


def _history(earlier: list[Earlier]) -> list[dict]:
    """The conversation so far as the model reads it, people's replies included."""
    history = []
    for message in earlier:
        if message.sender == Message.Sender.CUSTOMER:
            history.append({"role": "user", "content": message.content})
        elif message.sender == Message.Sender.HUMAN:
            history.append(
                {"role": "assistant", "content": f"({message.author_name} from the support team) {message.content}"}
            )
        elif message.sender == Message.Sender.AI:
            history.append({"role": "assistant", "content": message.content})
    return history[-HISTORY_LENGTH:]


def _suppressed_reasons(conversation: Conversation) -> list[str]:
    """Right after a person hands the conversation back, the AI does not hand it over again for
    the reason the person just dealt with."""
    if conversation.status != S.BACK_TO_AI:
        return []
    last = conversation.runs.filter(status=R.HANDED_OVER).order_by("-started_at").values_list("reason", flat=True)
    reason = last.first()
    return [reason] if reason and reason not in NEVER_SUPPRESSED else []


def _ai_replies_in_a_row(earlier: list[Earlier]) -> int:
    """AI replies since a person last wrote or took over (customer messages in between)."""
    count = 0
    for message in reversed(earlier):
        if message.sender == Message.Sender.CUSTOMER:
            continue
        if message.sender != Message.Sender.AI or message.handed_over:
            break
        count += 1
    return count


def _hand_over_without_ai(conversation: Conversation) -> None:
    """Call holding the conversation row lock."""
    # No message to the customer: the widget shows that a person will answer.
    conversations.conversation_start_ai(conversation.pk, locked=conversation)
    conversations.conversation_hand_over(conversation.pk, reason=REASONS["no_ai_agent"], locked=conversation)


# Sinks -------------------------------------------------------------------------------------


class TurnSinks:
    """How a chat turn ends or waits in its conversation (the engine's `Sinks`)."""

    def finish(self, run: PipelineRun, graph: Graph, node_id: str) -> None:
        _finish(run, graph, node_id)

    def hand_over(self, run: PipelineRun, node: dict) -> None:
        _hand_over(run, node)

    def paused(self, run: PipelineRun, pause: Pause) -> None:
        """The customer hears that a colleague decides, and the AI stops "typing"."""
        conversations.message_post_from_ai(
            run.conversation_id, content=run.agent.holding_message,
            metadata={"holding": True, "run_id": run.pk}, client_message_id=f"run-{run.pk}-hold-{run.state['steps']}",
        )  # fmt: skip
        conversations.conversation_typing(run.conversation_id, sender="ai", author_name="AI assistant", active=False)


SINKS = TurnSinks()


def _finish(run: PipelineRun, graph: Graph, node_id: str) -> None:
    """Send the reply, unless the customer wrote more meanwhile: then fold it in and start over.
    A reply the agent's draft review holds waits for a reviewer first."""
    started, clock = timezone.now(), time.perf_counter()
    reviewed = _draft_decision(run, node_id)
    if reviewed is None and _needs_draft_review(run):
        engine.pause(run, graph, node_id, "finish", _draft_pause(run), started, clock)
        return
    if reviewed and reviewed["status"] in ("rejected", "expired"):
        engine.divert(run, graph, "draft_rejected")
        return
    with transaction.atomic():
        conversation = _locked_conversation(run)
        newer = customer_messages_after(conversation, run.last_message_id)
        # A reply that follows a person's decision answers what was decided; what the customer
        # wrote meanwhile gets a run of its own rather than a restart around that decision.
        decided = reviewed or run.state.get("decided")
        if newer and not decided and run.state["absorbed"] < MAX_ABSORBED:
            _absorb(run, graph, newer)
            close_step(run, node_id, "finish", started, clock, {"absorbed": [m.pk for m in newer]})
            return
        reply = _send_reply(run, reviewed, conversation)
        if newer:
            # With messages still waiting the conversation stays with the AI for the next run.
            run.state["more_waiting"] = True
        else:
            conversations.conversation_finish(conversation.pk, locked=conversation)
        close_step(run, node_id, "finish", started, clock, {"message_id": reply.pk}, status=R.FINISHED)


def _locked_conversation(run: PipelineRun) -> Conversation:
    """Call inside the sink's transaction: the run's conversation, locked. The sink's writes to it
    take this row, so it is locked once, not once per write."""
    return conversations.conversation_lock(run.conversation_id)


def _send_reply(run: PipelineRun, reviewed: dict | None, conversation: Conversation) -> Message:
    """Call holding the conversation row lock (`conversation`): the AI's reply, or a reviewer's own words."""
    state, key = run.state, f"run-{run.pk}-reply"
    if reviewed and reviewed["status"] == "edited":
        state["reply"] = reviewed["message"]
    elif reviewed and reviewed["status"] == "responded":
        state["reply"], state["reviewer_id"] = reviewed["message"], reviewed["decided_by_id"]
    if state.get("reviewer_id"):
        return conversations.message_post_on_behalf(
            run.conversation_id, author_id=state["reviewer_id"], content=state["reply"], client_message_id=key,
            locked=conversation,
        )  # fmt: skip
    metadata = {"citations": state.get("citations", []), "run_id": run.pk, "trace_id": run.trace_id}
    if reviewed:
        metadata["reviewed_by"] = reviewed["decided_by"]
    return conversations.message_post_from_ai(
        run.conversation_id, content=state["reply"], metadata=metadata, client_message_id=key, locked=conversation
    )


def _draft_decision(run: PipelineRun, node_id: str) -> dict | None:
    decision = run.state.get("decision")
    paused = run.state.get("paused")
    if decision and paused and paused["node"] == node_id and decision["step"] == paused["step"]:
        run.state.pop("paused")
        run.state["decided"] = True
        return run.state.pop("decision")
    return None


def _needs_draft_review(run: PipelineRun) -> bool:
    agent = run.agent
    if agent is None or agent.draft_review == DraftReview.OFF or run.state.get("reviewer_id"):
        return False
    if agent.draft_review == DraftReview.ALL:
        return True
    confidence = run.state.get("confidence")
    return confidence is None or confidence < agent.draft_review_threshold


def _draft_pause(run: PipelineRun) -> Pause:
    state = run.state
    why = f"{run.agent.name} has its replies reviewed ({run.agent.get_draft_review_display()})."
    proposal = {"draft": state["reply"], "confidence": state.get("confidence"), "intent": state.get("intent", ""),
                "why": why}  # fmt: skip
    return Pause(kind="reply", proposal=proposal)


def _absorb(run: PipelineRun, graph: Graph, newer: list[Message]) -> None:
    state = run.state
    state["question"] = "\n".join([state["question"], *(message.content for message in newer)])
    state["message_ids"] += [message.pk for message in newer]
    state["absorbed"] += 1
    # The graph starts over for the folded question: its loop bounds (max_visits) count afresh.
    state["visits"] = {}
    for key in ("intent", "confidence", "passages", "action", "reply", "citations", "reason", "handover_reason"):
        state.pop(key, None)
    run.last_message_id = newer[-1].pk
    run.next_node = graph.start


def _hand_over(run: PipelineRun, node: dict) -> None:
    started, clock = timezone.now(), time.perf_counter()
    state, agent = run.state, run.agent
    reason = state.get("reason") or state.get("handover_reason") or node.get("reason") or "ai_decided"
    brief = {
        "reason": REASONS.get(reason, reason),
        "summary": _summary_for_people(state),
        "intent": state.get("intent", ""),
        "confidence": state.get("confidence"),
        "required_skills": (agent.skills_by_intent.get(state.get("intent", ""), []) if agent else []),
    }
    if agent is None:
        notice = NO_AGENT_MESSAGE
    else:
        notice = agent.apology_message if reason in APOLOGY_REASONS else agent.handover_message
    with transaction.atomic():
        conversation = _locked_conversation(run)
        conversations.message_post_from_ai(
            run.conversation_id, content=notice, metadata={"handover": True, "run_id": run.pk},
            client_message_id=f"run-{run.pk}-handover", locked=conversation,
        )  # fmt: skip
        conversations.conversation_hand_over(run.conversation_id, **brief, locked=conversation)
        run.reason = reason
        close_step(run, node["id"], "handover", started, clock, {"code": reason, **brief}, status=R.HANDED_OVER)


def _summary_for_people(state: dict) -> str:
    if state.get("summary"):
        return state["summary"]
    summary = extractive_summary(transcript_text(state))
    pending = state.get("pending_action")
    if pending:
        summary += f"\nWanted to call {pending['tool']} with {pending['arguments']}."
    return summary


# Recovery ------------------------------------------------------------------------------------


def conversations_needing_a_turn(*, idle_seconds: float, limit: int = 500) -> list[int]:
    """Conversations whose turn stalled, idle for `idle_seconds`: a run left `running` by a
    worker that vanished; a customer message whose turn request never reached the broker; a
    conversation left `ai_processing` with no run. Oldest first, so none is starved."""
    since = timezone.now() - timezone.timedelta(seconds=idle_seconds)
    stalled = PipelineRun.objects.filter(kind=PipelineRun.Kind.TURN, status=R.RUNNING, updated_at__lt=since)
    stalled = stalled.order_by("updated_at")
    found = list(stalled.values_list("conversation_id", flat=True)[:limit])
    newest_from_customer = Message.objects.filter(conversation=OuterRef("pk"), sender=Message.Sender.CUSTOMER)
    open_run = PipelineRun.objects.filter(conversation=OuterRef("pk"), status__in=PipelineRun.ACTIVE)
    unanswered = (
        Conversation.objects.filter(status__in=conversations.AI_STATES, last_message_at__lt=since)
        .filter(~Exists(open_run))
        .annotate(
            newest=Subquery(newest_from_customer.order_by("-id").values("id")[:1]),
            covered=Greatest(Coalesce(Subquery(_covered_by_runs(OuterRef("pk"))), 0), F("handled_through")),
        )
        .filter(Q(newest__gt=F("covered")) | Q(status=S.AI_PROCESSING))
        .order_by("last_message_at", "pk")
    )
    found += unanswered.values_list("pk", flat=True)[:limit]
    return sorted(set(found))
