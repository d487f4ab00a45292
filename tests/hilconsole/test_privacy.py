"""Data protection: forgetting a customer leaves no copy of their words or email in any table;
their data exports as JSON; retention deletes what is older than an inbox keeps."""

import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import models
from django.db.models.functions import Cast
from django.utils import timezone

from agents.models import LLMCall, PipelineRun, RunStep, Tool, ToolCall
from agents.pipelines import turns
from conversations import services
from conversations.audit import audit_record
from conversations.models import AuditEvent, Conversation, Customer, Message
from hilconsole.models import DailyMetric
from hilconsole.retention import retention_sweep
from hilconsole.rollups import rollups_refresh
from reviews.models import ReviewTask

pytestmark = pytest.mark.django_db

EMAIL = "cleo.zebra@example.org"
WORDS = "zebrafish-4711"
# Stands for the shop's own system (the demo tools' backend), not a copy the console keeps.
NOT_THE_CONSOLES = {"agents.DemoOrder"}


def customer_with_history(inbox) -> Customer:
    """A customer whose words and email reached every place the console copies them to."""
    conversation, _, _ = services.conversation_open(inbox, name="Cleo Zebra", email=EMAIL)
    text = f"How long does shipping of {WORDS} take? Write to {EMAIL}"
    for number, said in enumerate([text, "I want to talk to a human"]):
        # Runs, their steps, model calls, and a handover summary of the whole conversation.
        services.message_post_from_customer(conversation.pk, content=said, client_message_id=f"c-{number}",
                                            request_ai_turn=False)  # fmt: skip
        turns.turn_run(conversation.pk)
    run = PipelineRun.objects.filter(conversation=conversation).last()
    tool = Tool.objects.get(name="request_refund")
    ToolCall.objects.create(tool=tool, idempotency_key=f"run-{run.pk}-x", arguments={"email": EMAIL, "why": WORDS},
                            result={"note": f"refund for {EMAIL}"}, conversation=conversation)  # fmt: skip
    task = ReviewTask.objects.create(
        kind="tool_call", inbox=inbox, conversation=conversation, run=run, step_index=9, tool=tool,
        arguments={"email": EMAIL}, customer_words=text, rationale=f"asked about {WORDS}",
        deadline=timezone.now() + timedelta(hours=1), decision_comment=f"ok {WORDS}", response=f"Dear {EMAIL}",
    )  # fmt: skip
    audit_record(actor="ai", action="review_task.opened", target=task, after={"customer_words": text})
    return Customer.objects.get(pk=conversation.customer_id)


def copies_of(needle: str) -> list[str]:
    """Every table and column that still holds `needle` (text columns, and JSON as text)."""
    found = []
    for model in apps.get_models():
        if model._meta.label in NOT_THE_CONSOLES or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField):
                rows = model._default_manager.filter(**{f"{field.name}__icontains": needle})
            elif isinstance(field, models.JSONField):
                rows = model._default_manager.annotate(as_text=Cast(field.name, models.TextField())).filter(
                    as_text__icontains=needle
                )
            else:
                continue
            if rows.exists():
                found.append(f"{model._meta.label}.{field.name}")
    return found


def test_forgetting_a_customer_in_the_admin_leaves_no_copy_of_their_words_or_email(
    admin_client, admin_user, support_inbox
):
    customer = customer_with_history(support_inbox)
    LogEntry.objects.create(user=admin_user, content_type=ContentType.objects.get_for_model(Customer),
                            object_id=str(customer.pk), object_repr=str(customer), action_flag=CHANGE,
                            change_message=f"Changed email to {EMAIL}")  # fmt: skip
    other, _, _ = services.conversation_open(support_inbox, name="Dora")
    services.message_post_from_customer(other.pk, content="Where is my parcel?", client_message_id="d-1",
                                        request_ai_turn=False)  # fmt: skip
    assert {"conversations.Message.content", "conversations.Customer.email", "agents.PipelineRun.state",
            "agents.RunStep.input", "agents.ToolCall.arguments", "reviews.ReviewTask.customer_words",
            "conversations.AuditEvent.after", "conversations.Conversation.handover_summary"} <= set(
        copies_of(WORDS) + copies_of(EMAIL))  # fmt: skip

    reasons = list(PipelineRun.objects.filter(conversation__customer=customer).values_list("reason", flat=True))
    url = "/admin/conversations/customer/"
    form = {"action": "forget_customers", "_selected_action": [customer.pk]}
    confirmation = admin_client.post(url, form)
    assert confirmation.status_code == 200 and "Yes, forget them" in confirmation.content.decode()
    assert Message.objects.filter(conversation__customer=customer).exists()  # nothing happens before "yes"
    admin_client.post(url, form | {"confirmed": "yes"})

    assert copies_of(WORDS) == []
    assert copies_of(EMAIL) == []
    assert copies_of("Cleo Zebra") == []
    # The figures stay: the conversation, the run's outcome and tokens, the model calls' cost.
    conversation = Conversation.objects.get(customer=customer)
    assert conversation.status == Conversation.Status.PENDING_HUMAN
    runs = PipelineRun.objects.filter(conversation=conversation)
    assert list(runs.values_list("reason", flat=True)) == reasons and all(run.steps.exists() for run in runs)
    assert LLMCall.objects.filter(conversation=conversation).exists()
    assert Message.objects.filter(conversation=other).exists()  # another customer keeps everything
    event = AuditEvent.objects.get(action="customer.forgotten")
    assert event.actor_label == "admin" and event.after["messages"] >= 2


def test_a_customer_is_forgotten_by_email_from_the_command_line(support_inbox):
    customer = customer_with_history(support_inbox)

    call_command("forget_customer", EMAIL.upper())

    assert copies_of(EMAIL) == [] and copies_of(WORDS) == []
    assert AuditEvent.objects.get(action="customer.forgotten").actor_label == "manage.py forget_customer"
    assert Customer.objects.get(pk=customer.pk).name == ""


@pytest.mark.parametrize("reference", ["nobody@example.org", "424242", "not an email"])
def test_an_unknown_customer_is_a_clear_command_error(db, reference):
    with pytest.raises(CommandError, match="No customer is known as|neither a customer id nor an email"):
        call_command("forget_customer", reference)


def test_a_support_agent_may_not_forget_a_customer(client, support_agent, support_inbox):
    customer = customer_with_history(support_inbox)
    client.force_login(support_agent)

    form = {"action": "forget_customers", "_selected_action": [customer.pk], "confirmed": "yes"}
    response = client.post("/admin/conversations/customer/", form)

    assert response.status_code in (302, 403)
    assert Customer.objects.get(pk=customer.pk).email == EMAIL


def test_a_customer_exports_as_json_from_the_admin_and_the_command(admin_client, support_inbox, tmp_path):
    customer = customer_with_history(support_inbox)

    response = admin_client.post("/admin/conversations/customer/",
                                 {"action": "export_customers", "_selected_action": [customer.pk]})  # fmt: skip
    call_command("export_customer", str(customer.pk), output=str(tmp_path / "export.json"))

    assert response["Content-Type"] == "application/json"
    for exported in (json.loads(response.content)[0], json.loads((tmp_path / "export.json").read_text())[0]):
        assert exported["customer"]["email"] == EMAIL
        messages = exported["conversations"][0]["messages"]
        assert WORDS in messages[0]["content"] and messages[0]["sender"] == "customer"
        reasons = PipelineRun.objects.filter(conversation__customer=customer).values_list("reason", flat=True)
        assert [run["reason"] for run in exported["ai_runs"]] == list(reasons) and exported["ai_runs"][0]["steps"]
        assert exported["tool_calls"][0]["arguments"]["email"] == EMAIL
        assert exported["review_tasks"][0]["customer_words"].startswith("How long does shipping")
        assert exported["model_calls"]


# Retention ----------------------------------------------------------------------------------


def test_retention_deletes_in_batches_what_is_older_than_the_inbox_keeps(support_inbox, settings):
    settings.RETENTION_BATCH_SIZE = 2
    old = customer_with_history(support_inbox)
    rollups_refresh()
    rolled_up = DailyMetric.objects.filter(metric="ai_turns").count()
    long_ago = timezone.now() - timedelta(days=91)
    old_conversation = old.conversations.get()
    Message.objects.filter(conversation=old_conversation).update(created_at=long_ago)
    Conversation.objects.filter(pk=old_conversation.pk).update(last_message_at=long_ago)
    PipelineRun.objects.filter(conversation=old_conversation).update(started_at=long_ago)
    ToolCall.objects.filter(conversation=old_conversation).update(created_at=long_ago)
    ReviewTask.objects.filter(conversation=old_conversation).update(created_at=long_ago, status="approved")
    LLMCall.objects.filter(conversation=old_conversation).update(created_at=long_ago, error=f"echo {WORDS}")
    recent = customer_with_history(support_inbox).conversations.get()

    report = retention_sweep()

    assert report["Support"]["messages"] >= 2
    for model in (Message, PipelineRun, ToolCall, ReviewTask):
        assert not model.objects.filter(conversation=old_conversation).exists(), model
        assert model.objects.filter(conversation=recent).exists(), model
    assert not RunStep.objects.filter(run__conversation=old_conversation).exists()
    assert Conversation.objects.get(pk=old_conversation.pk).handover_summary == ""
    assert not LLMCall.objects.filter(error__contains=WORDS).exists()
    assert DailyMetric.objects.filter(metric="ai_turns").count() == rolled_up  # the figures stay
    assert AuditEvent.objects.filter(action="inbox.retention_applied", actor_label="retention").count() == 1


def test_a_shorter_retention_is_set_per_inbox_and_a_bad_one_is_a_form_error(admin_client, support_inbox):
    page = admin_client.get(f"/admin/conversations/inbox/{support_inbox.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data |= {"allowed_origins": json.dumps(support_inbox.allowed_origins), "business_hours": "{}",
             "ai_agent": support_inbox.ai_agent_id, "retention_days": "-3", "time_zone": "Mars/Olympus"}  # fmt: skip

    response = admin_client.post(f"/admin/conversations/inbox/{support_inbox.pk}/change/", data)

    errors = response.context["adminform"].form.errors
    assert "retention_days" in errors and "not a time zone name" in errors["time_zone"][0]
    admin_client.post(f"/admin/conversations/inbox/{support_inbox.pk}/change/",
                      data | {"retention_days": "30", "time_zone": "Europe/Berlin"})  # fmt: skip
    support_inbox.refresh_from_db()
    assert (support_inbox.retention_days, support_inbox.time_zone) == (30, "Europe/Berlin")
