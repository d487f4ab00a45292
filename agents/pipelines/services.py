"""Writes to pipeline definitions, prompts and AI agents (what the admin does)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from agents.models import AIAgent, Pipeline, PipelineVersion, Prompt, PromptVersion, Versioned
from agents.pipelines.graph import graph_problems
from conversations.audit import audit_record


@transaction.atomic
def pipeline_version_create(pipeline: Pipeline, *, graph: dict, note: str = "", author: str = "") -> PipelineVersion:
    """The pipeline's next version. A graph that cannot run is refused with every problem named."""
    problems = graph_problems(graph, pipeline.kind)
    if problems:
        raise ValidationError(problems)
    return PipelineVersion.objects.create(
        pipeline=pipeline, number=_next_number(pipeline), graph=graph, note=note, created_by=author
    )


@transaction.atomic
def prompt_version_create(prompt: Prompt, *, text: str, note: str = "", author: str = "") -> PromptVersion:
    return PromptVersion.objects.create(
        prompt=prompt, number=_next_number(prompt), text=text, note=note, created_by=author
    )


def _next_number(owner: Versioned) -> int:
    """Call inside a transaction: the owner's row lock numbers concurrent saves one after the other."""
    type(owner).objects.select_for_update().get(pk=owner.pk)
    return (owner.versions.aggregate(last=Max("number"))["last"] or 0) + 1


@transaction.atomic
def pipeline_version_pin(version: PipelineVersion, *, actor=None) -> list[AIAgent]:
    """Make every AI agent of this pipeline run this version (a rollback, or a roll-out).

    Runs already under way finish on the version they started with.
    """
    agents = list(AIAgent.objects.select_for_update().filter(pipeline_version__pipeline=version.pipeline_id))
    for agent in agents:
        before = agent.pipeline_version_id
        agent.pipeline_version = version
        agent.save(update_fields=["pipeline_version", "updated_at"])
        audit_record(actor=actor, action="aiagent.pinned", target=agent, before={"pipeline_version_id": before},
                     after={"pipeline_version_id": version.pk})  # fmt: skip
    return agents
