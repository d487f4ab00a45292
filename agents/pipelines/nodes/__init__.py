"""Node types, by family: the chat turn's (`support`), the back-office documents and
applications' (`documents`), and a person's decision (`review`). A node reads the run state and
returns what it found as a `NodeResult`; the engine records it as a step and merges it into the
state. A node that needs a person's decision returns a `Pause`, and one that fans work out over
the workers returns a `FanOut`: the run waits (durably), and the node runs again once the
decision is made or every item is done.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from agents.llm import gateway
from agents.models import AIAgent, PipelineRun


@dataclass
class Turn:
    """What a node may read: the run, its agent and state, the step it is, and the person's
    decision when the node paused for one and runs again."""

    run: PipelineRun
    agent: AIAgent
    state: dict
    step_index: int
    node_id: str = ""
    decision: dict | None = None

    @property
    def resumed(self) -> dict | None:
        """What the node kept when it paused (`Pause.resume`), when it runs again with a decision."""
        return self.state["paused"]["resume"] if self.decision else None

    def profile(self) -> str:
        return self.agent.profile_for(self.node_id)

    def links(self) -> gateway.Links:
        return gateway.Links(
            conversation_id=self.run.conversation_id, run_id=self.run.pk, step_id=self.step_index,
            agent_id=self.run.agent_id,
        )  # fmt: skip

    def outgoing(self, profile: str) -> tuple[str, list[dict]]:
        """The question and history as the profile's models may see them."""
        if gateway.profile_is_local(profile) or "redacted" not in self.state:
            return self.state["question"], self.state["history"]
        redacted = self.state["redacted"]
        return redacted["question"], redacted.get("history", self.state["history"])


@dataclass
class Pause:
    """A person decides before the run goes on: `proposal` is what they see (a tool and its
    arguments, a draft reply, an application, a report), `resume` what the node needs to continue
    exactly where it stopped (kept in the run's state, so a restarted worker can too)."""

    kind: str  # tool_call, reply, application, signoff
    proposal: dict
    resume: dict = field(default_factory=dict)


@dataclass
class FanOut:
    """Work spread over the workers: one item per input, each a Celery task with a checkpoint of
    its own (`RunItem`). The run waits until every item is done or failed, then the node runs
    again and gathers them. `items` empty: the items exist already, and the run waits on."""

    items: list[dict]
    max_attempts: int = 3


@dataclass
class NodeResult:
    updates: dict
    # What the trace shows, when it must differ from the updates (never personal data).
    output: dict | None = None
    completions: list = field(default_factory=list)
    tools: list[dict] = field(default_factory=list)
    pause: Pause | None = None
    fan_out: FanOut | None = None
    # A write that commits with the node's checkpoint (an outcome recorded on the run's subject).
    effect: Callable[[], None] | None = None


from agents.pipelines.nodes import documents, review, support  # noqa: E402  (they build on the above)
from agents.pipelines.nodes.support import SIGN_IN_FIRST, transcript_text  # noqa: E402, F401

NODES = {**support.NODES, **documents.NODES, **review.NODES}
# Nodes that only read and work out the run's next state: the engine writes each one's step with
# the run's next step.
STATE_ONLY = support.STATE_ONLY
# What a map node's items do, by the node's `work` setting.
ITEM_WORK = documents.ITEM_WORK
