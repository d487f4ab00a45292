"""The evaluation gate: the shipped dataset through the real pipeline, and what bad input gets."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from agents.evaluation import Case, CaseResult, DatasetError, load_cases, report, score
from agents.llm import gateway
from agents.llm.keys import encrypt_api_key
from agents.models import ModelProfile
from conversations.models import Conversation
from tests.agents.openai_server import OpenAIServer

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


ANA = {"identifier": "shop-ana", "email": "ana.silva@demo.example"}
PROVIDER_CASES = [
    {"message": "Do you deliver to parcel lockers?", "expected_outcome": "answered",
     "expected_source": "International shipping", "expected_contains": ["Packstation"]},
    {"message": "Where is my order 100234?", "customer": ANA, "expected_outcome": "answered",
     "expected_tool": "get_order_status", "expected_arguments": {"order_number": "100234"},
     "expected_contains": ["shipped"]},
    {"message": "I want a refund of 19.90 for order 100234, it arrived broken", "customer": ANA,
     "expected_outcome": "review", "expected_tool": "request_refund",
     "expected_arguments": {"order_number": "100234", "amount": 19.9}},
    {"message": "I want to talk to a human", "expected_outcome": "handover"},
    # The scripted model answers in English: the report must say so.
    {"message": "Can you deliver to parcel lockers?", "expected_outcome": "answered", "expected_language": "de"},
]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_the_evaluation_scores_a_real_provider_the_same_way(
    live_support_inbox, demo_orders_committed, live_server_url, settings, tmp_path
):
    settings.DEMO_SHOP_URL = live_server_url
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text("\n".join(json.dumps(case) for case in PROVIDER_CASES))
    out = StringIO()

    with OpenAIServer() as server:
        for profile in ModelProfile.objects.all():
            profile.deployments.update(
                model="openai/support", api_base=server.api_base, api_key_encrypted=encrypt_api_key("sk-test")
            )
            gateway.forget_profile(profile.name)
        call_command("evaluate", dataset=str(dataset), inbox=live_support_inbox.name, as_json=True, stdout=out)

    report = json.loads(out.getvalue())
    assert server.requests["support"] >= len(PROVIDER_CASES)
    assert (report["outcome_accuracy"], report["handover_recall"], report["tool_accuracy"]) == (1.0, 1.0, 1.0)
    assert report["source_accuracy"] == 1.0 and report["answer_accuracy"] == pytest.approx(2 / 3, abs=0.001)
    [mistake] = report["mistakes"]
    assert mistake["failures"] == ["replied in en, expected de"]


def test_answers_are_scored_by_source_facts_tool_call_and_language():
    case = Case(
        1, "Refund 19.90 on 100234", "answered", expected_source="Payment methods",
        expected_contains=["1–3 business days", ["€4.90", "4,90 €"]], expected_tool="request_refund",
        expected_arguments={"order_number": "100234", "amount": 19.9}, expected_language="en",
    )  # fmt: skip
    result = CaseResult(
        1, case.message, "answered", "answered", None, "faq", 0.9, "", 10.0, 0.0, 7,
        reply="Germany: 1-3 business days, 4,90 € [1]", sources=["Payment methods", "Gift cards"],
        tools=[{"name": "request_refund", "arguments": {"order_number": "100234", "amount": "19.90"}, "pending": True}],
        language="en",
    )  # fmt: skip

    score(case, result)

    assert result.checks == {"source": True, "contains": True, "tool": True, "language": True}
    assert result.failures == []


def test_a_wrong_source_a_missing_fact_and_other_arguments_are_each_reported():
    case = Case(1, "Where is 100234?", "answered", expected_source="Shipping times and costs",
                expected_contains=["shipped"], expected_tool="get_order_status",
                expected_arguments={"order_number": "100234"})  # fmt: skip
    result = CaseResult(1, case.message, "answered", "answered", None, "order_status", 0.9, "", 1.0, 0.0, 7,
                        reply="Order 100235 is delivered.", sources=["Gift cards"],
                        tools=[{"name": "get_order_status", "arguments": {"order_number": "100235"}}])  # fmt: skip

    score(case, result)

    assert result.checks == {"source": False, "contains": False, "tool": False}
    assert len(result.failures) == 3
    assert report([result])["answer_accuracy"] == 0.0 and report([result])["tool_accuracy"] == 0.0


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "line 1: not JSON"),
        ('{"message": "Hi", "expected_outcome": "maybe"}', "expected_outcome must be one of"),
        ('{"message": "", "expected_outcome": "answered"}', "message must be a non-empty string"),
        ('{"message": "Hi", "expected_outcome": "answered", "history": [{"role": "bot"}]}', "history must be"),
        ('{"message": "Hi", "expected_outcome": "answered", "mood": "happy"}', "unknown keys mood"),
        ('{"message": "Hi", "expected_outcome": "answered", "customer": {"email": "a@b.c"}}', "customer must be"),
        ('{"message": "Hi", "expected_outcome": "answered", "expected_contains": "€4.90"}', "expected_contains must"),
        ('{"message": "Hi", "expected_outcome": "review", "expected_arguments": {"amount": 1}}', "needs expected_tool"),
        ('{"message": "Hi", "expected_outcome": "answered", "expected_language": "it"}', "expected_language must"),
        ('{"message": "Hi", "expected_outcome": "answered", "expected_tool": ""}', "expected_tool must"),
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
