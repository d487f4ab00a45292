"""The engine's checkpoint statement, written in SQL for speed, keeps up with the models."""

from agents.models import PipelineRun, RunStep
from agents.pipelines import engine

# What a run is and where it started: set when it is created, never by a checkpoint.
RUN_IDENTITY = {"id", "kind", "conversation_id", "analysis_id", "application_id", "agent_id", "version_id",
                "trace_id", "started_at"}  # fmt: skip


def test_a_checkpoint_writes_every_field_of_its_step():
    fields = {field.attname for field in RunStep._meta.concrete_fields} - {"id"}

    assert set(engine.STEP_FIELDS) == fields


def test_a_checkpoint_writes_every_field_of_the_run_that_can_change():
    # A new field of PipelineRun fails here until it is written by the checkpoint or named above.
    fields = {field.attname for field in PipelineRun._meta.concrete_fields} - RUN_IDENTITY

    assert set(engine.RUN_FIELDS) == fields
