from django.db import models


class RunKind(models.TextChoices):
    """What a pipeline is for, and so what its runs advance: a chat turn of a conversation, or a
    back-office workflow's submission. Graphs are checked per kind (only turns need a handover)."""

    TURN = "turn", "chat turn"
    DOCUMENT_ANALYSIS = "document_analysis", "document analysis"
    APPLICATION = "application", "application review"


def kind_named(kind: str) -> str:
    """The kind with its article, for messages: "a chat turn", "an application review"."""
    label = RunKind(kind).label
    return f"{'an' if label[0] in 'aeiou' else 'a'} {label}"


WORKFLOW_KINDS = [(RunKind.DOCUMENT_ANALYSIS.value, RunKind.DOCUMENT_ANALYSIS.label),
                  (RunKind.APPLICATION.value, RunKind.APPLICATION.label)]  # fmt: skip
