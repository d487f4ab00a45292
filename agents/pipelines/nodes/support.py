"""The chat nodes of a turn: guard, classify, retrieve, answer, summarize, condition. A node reads
the run state and returns what it found; the engine records it as a step and merges it into the
state. A node that needs a person's decision returns a `Pause`: the run waits, and the node runs
again with the decision. Sinks live with the run's kind (agents.pipelines.turns), since they end
the turn in the conversation.

Text goes to a model through `Turn.outgoing()`: redacted of personal data unless every
deployment of the node's model profile runs on this machine.
"""

import json
import logging
import re
from types import SimpleNamespace

from agents.guardrails import injection, pii
from agents.guardrails.human_request import asks_for_a_person
from agents.knowledge.search import search
from agents.llm import gateway, prompts
from agents.llm.local.answers import extractive_summary
from agents.pipelines.nodes import NodeResult, Pause, Turn
from agents.tools import ToolResult, idempotency_key_for, tool_call, tools_for_llm
from agents.tools.approvals import approval_needed
from agents.tools.services import conversation_customer

logger = logging.getLogger(__name__)

CITATION = re.compile(r"\[(\d+)\]")
HUMAN_REQUEST = "human_request"


def guard(turn: Turn, node: dict) -> NodeResult:
    screening = injection.screen(turn.state["question"])
    question = pii.redact(turn.state["question"])
    values, history = question.values, []
    for message in turn.state["history"]:
        redacted = pii.redact(message["content"], values)
        values = redacted.values
        history.append({**message, "content": redacted.text})
    finding = {"injection": screening.suspected, "signals": screening.signals, "pii": question.kinds()}
    redacted = {"question": question.text}
    # The history as redacted only when it holds personal data: otherwise it is the history itself,
    # and the run's state (written after every node) would carry it twice.
    if history != turn.state["history"]:
        redacted["history"] = history
    return NodeResult(updates={"guard": finding, "redacted": redacted, "pii_values": values}, output=finding)


def classify(turn: Turn, node: dict) -> NodeResult:
    if asks_for_a_person(turn.state["question"]):
        found = {"intent": HUMAN_REQUEST, "confidence": 1.0}
        return NodeResult(found, output={**found, "by": "phrase"})
    profile = turn.profile()
    question, _ = turn.outgoing(profile)
    verdict = gateway.classify_intent(question, profile=profile, links=turn.links(), passages=_passages(turn))
    return NodeResult({"intent": verdict.intent, "confidence": verdict.confidence}, completions=[verdict.completion])


def retrieve(turn: Turn, node: dict) -> NodeResult:
    # Embeddings and search run on this machine, so the customer's own words are used. A turn
    # that asks several things gets the passages of each of them.
    limit, state = node.get("limit", 4), turn.state
    earlier = [message["content"] for message in state["history"] if message["role"] == "user"]
    asked = prompts.questions_in(state["question"])
    if len(asked) == 1:
        asked = [state["question"]]
    # Each question is searched as written ("and shipping?"); only the turn's first leans on the
    # customer's previous message.
    texts = [_search_text(asked[0], earlier), *asked[1:]]
    found = _interleaved([search(text, inbox_id=state["inbox_id"], limit=limit) for text in texts])
    floor = node.get("min_similarity", 0.0)
    passages = [
        {"chunk_id": p.chunk_id, "document_id": p.document_id, "title": p.document_title, "heading": p.heading,
         "text": p.text, "similarity": round(p.similarity, 3)}
        for p in found if p.similarity >= floor
    ]  # fmt: skip
    shown = [{key: p[key] for key in ("document_id", "title", "heading", "similarity")} for p in passages]
    return NodeResult({"passages": passages, "passages_found": len(passages)}, output={"passages": shown})


# A message this short may lean on the one before it ("And to Austria?").
FOLLOW_UP_WORDS = 8


def _search_text(question: str, earlier: list[str]) -> str:
    """The question, with the customer's previous message when it is a short follow-up."""
    if earlier and len(question.split()) <= FOLLOW_UP_WORDS:
        return f"{earlier[-1]}\n{question}"
    return question


def _interleaved(rankings: list[list]) -> list:
    """Each ranking's best first, then each one's second, …: every question keeps its best
    passages. A passage found twice is kept once."""
    merged = {}
    for rank in range(max(map(len, rankings), default=0)):
        for ranking in rankings:
            if rank < len(ranking):
                merged.setdefault(ranking[rank].chunk_id, ranking[rank])
    return list(merged.values())


def _passages(turn: Turn) -> list[SimpleNamespace]:
    """The retrieved passages as the prompts take them (none when no retrieve node ran yet)."""
    return [
        SimpleNamespace(document_title=p["title"], heading=p["heading"], text=p["text"])
        for p in turn.state.get("passages", [])
    ]


def summarize(turn: Turn, node: dict) -> NodeResult:
    if node.get("mode") == "extractive":
        return NodeResult({"summary": extractive_summary(transcript_text(turn.state))})
    profile = turn.profile()
    question, history = turn.outgoing(profile)
    lines = [(SPEAKERS.get(m["role"], m["role"]), m["content"]) for m in history] + [("customer", question)]
    completion = gateway.summarize(lines, profile=profile, links=turn.links())
    summary = pii.restore((completion.content or "").strip(), turn.state.get("pii_values", {}))
    return NodeResult({"summary": summary}, completions=[completion])


def condition(turn: Turn, node: dict) -> NodeResult:
    """Only routes: its edges' conditions decide where the run goes."""
    return NodeResult({})


SPEAKERS = {"user": "customer", "assistant": "support"}


def transcript_text(state: dict) -> str:
    lines = [f"{SPEAKERS.get(message['role'], message['role'])}: {message['content']}" for message in state["history"]]
    return "\n".join([*lines, f"customer: {state['question']}"])


# The answer node ---------------------------------------------------------------------------


def answer(turn: Turn, node: dict) -> NodeResult:
    """The model answers from the retrieved passages, calling the agent's tools in a bounded
    loop. A repeated identical call ends the loop (the model is going round in circles). A call
    that needs approval (a gated tool, or the agent's rule for a safe one) is not made: the node
    pauses for a reviewer and, with the decision, goes on exactly where it stopped."""
    profile = turn.profile()
    loop = ToolLoop(turn, tools_for_llm(turn.state["allowed_tools"]), node.get("max_tool_rounds", 3))
    if turn.resumed:
        messages, pending = loop.restore(turn.resumed)
        if turn.decision["status"] == "responded":
            return loop.answered_by_reviewer(turn.decision)
    else:
        question, history = turn.outgoing(profile)
        passages = _passages(turn)
        instructions = f"{turn.state['system_prompt']}\n{prompts.ACTION_FORMAT}"
        messages, pending = prompts.answer_messages(question, passages, history, instructions), []
    completion = None
    while True:
        if pending:
            messages += loop.call(pending, messages)
            if loop.pause:
                return loop.paused()
        completion = gateway.complete(
            messages, profile=profile, tools=loop.offered(), json_response=True, links=turn.links(), purpose="answer"
        )
        loop.completions.append(completion)
        if not completion.tool_calls or not loop.offered():
            break
        loop.rounds_left -= 1
        loop.rationale = (completion.content or "").strip()
        messages.append(_requested(completion.tool_calls))
        pending = completion.tool_calls
    decision = decision_of(completion.content or "")
    decision["reply"] = pii.restore(decision.get("reply", ""), turn.state.get("pii_values", {}))
    decision = withheld_if_private(decision, loop.private, turn.run.conversation_id)
    decision["citations"] = citations(decision["reply"], turn.state.get("passages", []))
    return NodeResult(decision | {"decisions": loop.decisions}, completions=loop.completions, tools=loop.trace)


def _requested(calls: list[dict]) -> dict:
    """The assistant message that asked for these calls, as the model's next request repeats it."""
    requested = [
        {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
        for c in calls
    ]
    return {"role": "assistant", "content": None, "tool_calls": requested}


# Fields of a tool's answer that only the customer they belong to may read.
PRIVATE_FIELDS = frozenset({"shipping_address", "address", "customer_email", "email", "phone"})
SIGN_IN_FIRST = (
    "For your privacy I can only share an order's details with the customer who placed it. "
    "Please sign in on our website and ask me again."
)


def withheld_if_private(decision: dict, private: set[str], conversation_id: int) -> dict:
    """Whatever model wrote the reply, it shows no tool's private field (an address, an email)
    to a visitor whose identity the shop did not vouch for: the tools should not have returned
    one, and this makes sure such a value never reaches the widget."""
    reply = decision.get("reply", "")
    if not private or not any(value in reply for value in private):
        return decision
    found = conversation_customer(conversation_id)
    if found and found[1].verified:
        return decision
    return {**decision, "reply": SIGN_IN_FIRST, "withheld": "private_data"}


def private_values(content) -> set[str]:
    """The private fields' values anywhere in a tool's answer."""
    if isinstance(content, list):
        return set().union(*map(private_values, content)) if content else set()
    if not isinstance(content, dict):
        return set()
    found = {str(value) for key, value in content.items() if key in PRIVATE_FIELDS and value}
    return found.union(*(private_values(value) for value in content.values()))


class ToolLoop:
    def __init__(self, turn: Turn, tools: list[dict], rounds: int):
        self.turn, self.tools, self.rounds_left = turn, tools, rounds
        self.completions: list = []
        self.trace: list[dict] = []
        self.seen: set[str] = set()
        self.loop_detected = False
        self.pause: Pause | None = None
        self.rationale = ""
        # Decisions people made on this run's calls, by call: a call asked again after the run
        # folded in a new message gets the same answer rather than a second review.
        self.decisions: dict[str, dict] = dict(turn.state.get("decisions", {}))
        # The private fields' values that tools answered with in this loop.
        self.private: set[str] = set()

    def offered(self) -> list[dict] | None:
        return self.tools if self.tools and self.rounds_left > 0 and not self.loop_detected else None

    def call(self, calls: list[dict], messages: list[dict]) -> list[dict]:
        """Make a round of tool calls; returns the messages that report them to the model. A call
        that needs a decision pauses the loop (`self.pause`) with what it needs to go on."""
        replies = []
        for position, call in enumerate(calls):
            result = self._result(call)
            if self.pause:
                self.pause.resume = self._kept([*messages, *replies], calls[position:])
                return []
            replies.append({"role": "tool", "tool_call_id": call["id"], "content": result})
        return replies

    def _result(self, call: dict) -> str:
        values = self.turn.state.get("pii_values", {})
        arguments = pii.restore(call["arguments"], values)
        signature = json.dumps([call["name"], arguments], sort_keys=True)
        if signature in self.seen:
            self.loop_detected = True
            self.trace.append({"name": call["name"], "outcome": "loop_detected"})
            return json.dumps({"error": "You already made this exact call; answer with what you have."})
        if call["name"] not in self.turn.state["allowed_tools"]:
            # A model may ask for any tool by name, offered or not (a remote model can be talked into it).
            logger.warning("Run %s asked for %s, a tool its AI agent may not use", self.turn.run.pk, call["name"])
            self.trace.append({"name": call["name"], "outcome": "not_allowed"})
            return json.dumps({"error": f"The tool {call['name']} is not available to you; do not call it."})
        # Keyed by the node's visit (in this fold of the question), not the step: a retry of this
        # very visit replays the call, and a later visit or fold makes calls of its own.
        state = self.turn.state
        visit = f"{self.turn.node_id}.{state['visits'].get(self.turn.node_id, 0)}"
        if state.get("absorbed"):
            visit += f".fold{state['absorbed']}"
        key = idempotency_key_for(self.turn.run.pk, visit, call["name"], len(self.trace))
        decided = self.decisions.get(signature)
        if decided is None:
            why = approval_needed(self.turn.agent.pk if self.turn.agent else None, call["name"], arguments)
            if why:
                self._ask(call["name"], arguments, key, why)
                return ""
            self.seen.add(signature)
            result = tool_call(
                call["name"], arguments, idempotency_key=key, conversation_id=self.turn.run.conversation_id
            )
        else:
            self.seen.add(signature)
            result = self._decided_result(call["name"], decided)
        self.trace.append(
            {"name": call["name"], "outcome": "ok" if result.ok else result.code, "replayed": result.replayed}
        )
        if result.ok:
            self.private |= private_values(result.content)
        return self._for_model(result.message_for_llm())

    def _for_model(self, text: str) -> str:
        if not gateway.profile_is_local(self.turn.profile()):
            text = pii.redact(text, self.turn.state.get("pii_values", {})).text
        return text

    def _ask(self, name: str, arguments: dict, key: str, why: str) -> None:
        self.trace.append({"name": name, "outcome": "needs_approval"})
        rationale = self.rationale or f"The customer wrote: “{self.turn.state['question'][:300]}”"
        proposal = {"tool": name, "arguments": arguments, "rationale": rationale, "why": why, "idempotency_key": key}
        self.pause = Pause(kind="tool_call", proposal=proposal)

    def _kept(self, messages: list[dict], pending: list[dict]) -> dict:
        return {"messages": messages, "pending": pending, "rounds_left": self.rounds_left, "trace": self.trace,
                "seen": sorted(self.seen), "private": sorted(self.private),
                "proposal": self.pause.proposal}  # fmt: skip

    def paused(self) -> NodeResult:
        return NodeResult(
            {"decisions": self.decisions}, completions=self.completions, tools=self.trace, pause=self.pause
        )

    def restore(self, kept: dict) -> tuple[list[dict], list[dict]]:
        """The loop as it was when it paused, with the person's decision on the call it paused at."""
        self.rounds_left, self.trace, self.seen = kept["rounds_left"], list(kept["trace"]), set(kept["seen"])
        self.private = set(kept.get("private", ()))
        proposal, decision = kept["proposal"], self.turn.decision
        signature = json.dumps([proposal["tool"], proposal["arguments"]], sort_keys=True)
        self.decisions[signature] = {
            "status": decision["status"],
            "arguments": decision.get("arguments") or proposal["arguments"],
            "comment": decision.get("comment", ""),
            "idempotency_key": proposal["idempotency_key"],
        }
        return list(kept["messages"]), list(kept["pending"])

    def _decided_result(self, name: str, decided: dict):
        """What the model is told of a decided call: the tool's answer once approved (run with
        the key the reviewer saw, so it happens once), or the reviewer's refusal."""
        if decided["status"] in ("approved", "edited"):
            return tool_call(
                name, decided["arguments"], idempotency_key=decided["idempotency_key"],
                conversation_id=self.turn.run.conversation_id, approved=True,
            )  # fmt: skip
        why = decided.get("comment") or "no reviewer decided in time"
        return ToolResult(ok=False, error=f"A reviewer declined this action: {why}", code=f"review_{decided['status']}")

    def answered_by_reviewer(self, decision: dict) -> NodeResult:
        """The reviewer answered the customer themselves: the call is not made, their words are the reply."""
        self.trace.append({"name": self.turn.resumed["proposal"]["tool"], "outcome": "responded"})
        reply = {"action": "reply", "reply": decision["message"], "citations": [],
                 "reviewer_id": decision["decided_by_id"]}  # fmt: skip
        return NodeResult(reply, tools=self.trace)


def decision_of(content: str) -> dict:
    """The model's JSON decision. A model that ignored the format has still answered: its text
    is the reply, since only the `action` field can hand a customer over."""
    try:
        parsed = json.loads(content)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        parsed = {"action": "reply", "reply": content}
    action = "handover" if parsed.get("action") == "handover" else "reply"
    reply = str(parsed.get("reply") or parsed.get("answer") or "").strip()
    if action == "reply" and not reply:
        return {"action": "handover", "handover_reason": "empty_reply", "reply": ""}
    decision = {"action": action, "reply": reply}
    if action == "handover":
        decision |= {"handover_reason": "ai_decided", "reason_detail": str(parsed.get("reason") or "")[:300]}
    return decision


def citations(reply: str, passages: list[dict]) -> list[dict]:
    cited = []
    for number in dict.fromkeys(int(n) for n in CITATION.findall(reply)):
        if 1 <= number <= len(passages):
            passage = passages[number - 1]
            cited.append({"number": number, "title": passage["title"], "document_id": passage["document_id"]})
    return cited


NODES = {
    "guard": guard,
    "classify": classify,
    "retrieve": retrieve,
    "answer": answer,
    "summarize": summarize,
    "condition": condition,
}
# Nodes that only read (the question, the help articles) and work out the run's next state.
STATE_ONLY = frozenset({"guard", "retrieve", "condition"})
