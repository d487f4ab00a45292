"""The embedded `local/…` model: an honest small NLP model, measured on the demo data."""

import json
import random
import re
from types import SimpleNamespace

import pytest

from agents.demo_data import DEMO_INTENTS
from agents.llm import gateway
from agents.llm.local import answers, intents, tool_calls

pytestmark = pytest.mark.django_db

EXAMPLES = [(intent, text) for intent, texts in DEMO_INTENTS.items() for text in texts]


def test_intents_are_recognised_on_held_out_examples():
    """5-fold cross-validation: each example is classified by a model that never saw it."""
    shuffled = EXAMPLES[:]
    random.Random(7).shuffle(shuffled)
    folds = [shuffled[start::5] for start in range(5)]
    correct = 0
    for held_out in folds:
        training = [pair for pair in shuffled if pair not in held_out]
        correct += sum(intents.classify(text, training)[0] == intent for intent, text in held_out)

    assert correct / len(EXAMPLES) >= 0.7


@pytest.mark.parametrize("nonsense", ["asdkjh qwpoeiru zxmcnv", "purple elephant quantum banana", "lorem ipsum dolor"])
def test_messages_unlike_any_example_get_a_low_confidence(nonsense):
    assert intents.classify(nonsense, EXAMPLES)[1] < 0.2


def test_a_clear_message_gets_a_high_confidence():
    intent, confidence = intents.classify("I want to speak to a real person", EXAMPLES)

    assert (intent, confidence >= 0.5) == ("human_request", True)


def test_classification_through_the_gateway_uses_the_admins_examples():
    from agents.demo_data import intent_examples_ensure

    intent_examples_ensure()

    assert gateway.classify_intent("Where is my parcel 100234?").intent == "order_status"


SOURCES = [
    SimpleNamespace(document_title="Shipping", heading="Times", text="Standard shipping takes 2 to 4 business days."),
    SimpleNamespace(
        document_title="Refunds",
        heading="When the money arrives",
        text="We refund within 5 business days of receiving your return. Your bank may take 3 more days.",
    ),
    SimpleNamespace(document_title="Passwords", heading="", text="Reset your password from the sign-in page link."),
]


def test_an_answer_is_built_from_the_right_source_and_cites_it():
    completion = gateway.answer("When will I get the money for my return?", SOURCES)

    assert "[2]" in completion.content
    assert "5 business days" in completion.content


def test_with_no_relevant_source_the_model_says_it_does_not_know():
    completion = gateway.answer("What is the capital of Peru?", SOURCES)

    assert completion.content == answers.NOT_FOUND


def test_a_summary_keeps_the_customers_request():
    summary = gateway.summarize(
        [
            ("customer", "My order 100234 has not arrived after two weeks."),
            ("ai", "I'm sorry to hear that, let me check."),
            ("customer", "The tracking page says shipped but nothing moves."),
            ("customer", "I need it before Friday for a birthday present."),
            ("ai", "I will hand you over to a colleague who can help."),
        ]
    ).content

    assert "100234" in summary and len(summary) < 400


ORDER_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_order_status",
            "description": "Look up where an order is and its delivery status by order number",
            "parameters": {
                "type": "object",
                "properties": {"order_number": {"type": "string"}},
                "required": ["order_number"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "request_refund",
            "description": "Refund money for an order, fully or partly",
            "parameters": {
                "type": "object",
                "properties": {"order_number": {"type": "string"}, "amount": {"type": "number"}},
                "required": ["order_number", "amount"],
            },
        },
    },
]


def test_the_model_calls_the_fitting_tool_with_the_arguments_it_can_read():
    completion = gateway.complete(
        [{"role": "user", "content": "Please refund 25,50 € on order 100234"}], tools=ORDER_TOOLS
    )

    assert completion.tool_calls[0]["name"] == "request_refund"
    assert completion.tool_calls[0]["arguments"] == {"order_number": "100234", "amount": 25.5}


def test_a_missing_required_argument_gets_a_clarifying_question_instead_of_a_call():
    completion = gateway.complete([{"role": "user", "content": "Where is my order?"}], tools=ORDER_TOOLS)

    assert completion.tool_calls == []
    assert "order number" in completion.content


def test_arguments_are_extracted_from_free_text():
    email_tool = {"function": {"parameters": {"properties": {"email": {"type": "string"}}, "required": ["email"]}}}

    assert tool_calls.fill_arguments("my mail is ana.l@shop.example thanks", email_tool) == (
        {"email": "ana.l@shop.example"},
        [],
    )


def test_json_is_returned_when_json_is_asked_for():
    completion = gateway.complete(
        [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "Hi"}], json_response=True
    )

    assert json.loads(completion.content)["action"] in ("reply", "handover")


@pytest.mark.parametrize(
    "question, document",
    [
        ("How long until the money for my return is back on my card?", "Refund timing"),
        ("I forgot my password, what do I do?", "Password reset"),
        ("Can I pay with PayPal?", "Payment methods"),
    ],
)
def test_answers_from_the_demo_knowledge_base_cite_the_right_document(question, document):
    from agents.knowledge.search import search
    from agents.knowledge.services import knowledge_demo_ensure

    knowledge_demo_ensure()
    passages = search(question, limit=3)

    completion = gateway.answer(question, passages)

    cited = [int(number) for number in re.findall(r"\[(\d+)\]", completion.content)]
    assert cited, completion.content
    assert passages[cited[0] - 1].document_title.startswith(document)
