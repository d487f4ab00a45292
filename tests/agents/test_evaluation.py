"""The evaluation gate: the shipped dataset through the real pipeline, and what bad input gets."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from agents.evaluation import DatasetError, load_cases
from conversations.models import Conversation

EVAL = Path(__file__).resolve().parent.parent / "eval"
DATASET = EVAL / "test.jsonl"


def test_the_shipped_dataset_is_large_varied_and_split():
    test, dev = load_cases(DATASET), load_cases(EVAL / "dev.jsonl")
    assert len(test) + len(dev) >= 250
    assert not {case.message for case in test} & {case.message for case in dev}
    for cases in (test, dev):
        assert {case.expected_outcome for case in cases} == {"answered", "handover", "review"}
        assert any(case.history for case in cases)
        assert {case.expected_language for case in cases} >= {"de", "fr", "es"}
        assert {case.expected_tool for case in cases} >= {
            "get_order_status",
            "request_refund",
            "update_shipping_address",
        }
        assert len({case.expected_source for case in cases if case.expected_source}) >= 10


@pytest.mark.django_db(transaction=True)
def test_the_support_pipeline_passes_the_gate(live_support_inbox, demo_orders_committed, live_server_url, settings):
    settings.DEMO_SHOP_URL = live_server_url
    out = StringIO()

    call_command(
        "evaluate", dataset=str(DATASET), inbox=live_support_inbox.name, as_json=True, stdout=out,
        min_outcome_accuracy=0.95, min_handover_recall=1.0, min_answer_accuracy=0.9, min_tool_accuracy=0.95,
    )  # fmt: skip

    report = json.loads(out.getvalue())
    assert report["cases"] == len(load_cases(DATASET))
    assert report["outcome_accuracy"] >= 0.95 and report["handover_recall"] == 1.0
    assert report["answer_accuracy"] >= 0.9 and report["tool_accuracy"] >= 0.95
    assert report["latency_ms"]["p95"] > 0
    assert not Conversation.objects.filter(inbox=live_support_inbox).exists()  # it cleans up after itself


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "line 1: not JSON"),
        ('{"message": "Hi", "expected_outcome": "maybe"}', "expected_outcome must be one of"),
        ('{"message": "", "expected_outcome": "answered"}', "message must be a non-empty string"),
        ('{"message": "Hi", "expected_outcome": "answered", "history": [{"role": "bot"}]}', "history must be"),
        ('{"message": "Hi", "expected_outcome": "answered", "mood": "happy"}', "unknown keys mood"),
    ],
)
def test_a_malformed_dataset_line_is_refused_with_its_number(tmp_path, line, problem):
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text(line + "\n")

    with pytest.raises(DatasetError, match=problem):
        load_cases(dataset)


def test_a_missing_dataset_is_a_clear_command_error(tmp_path, db):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("evaluate", dataset=str(tmp_path / "nope.jsonl"))


def test_an_unknown_inbox_or_one_without_an_ai_agent_is_refused(tmp_path, support_inbox):
    from conversations.services import inbox_assign_ai_agent

    dataset = tmp_path / "cases.jsonl"
    dataset.write_text('{"message": "Hello", "expected_outcome": "answered"}\n')
    with pytest.raises(CommandError, match='No inbox named "Elsewhere"'):
        call_command("evaluate", dataset=str(dataset), inbox="Elsewhere")
    inbox_assign_ai_agent(support_inbox.pk, None)
    with pytest.raises(CommandError, match="has no AI agent"):
        call_command("evaluate", dataset=str(dataset), inbox=support_inbox.name)


def test_missing_a_bar_fails_the_command_and_says_which(tmp_path, support_inbox):
    dataset = tmp_path / "cases.jsonl"
    # The AI answers a greeting; this dataset insists it should hand over.
    dataset.write_text('{"message": "Hello", "expected_outcome": "handover"}\n')
    out = StringIO()

    with pytest.raises(CommandError, match=r"outcome accuracy 0 < 0.9; handover recall 0 < 1"):
        call_command("evaluate", dataset=str(dataset), inbox=support_inbox.name, stdout=out, stderr=StringIO(),
                     min_outcome_accuracy=0.9, min_handover_recall=1.0)  # fmt: skip
    assert "outcome accuracy     0.0%" in out.getvalue()
    assert "line 1: expected handover/-, got answered/smalltalk" in out.getvalue()
