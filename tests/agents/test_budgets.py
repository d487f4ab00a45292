"""Budgets and the cost circuit breaker, with real spend: a priced deployment on the local
OpenAI-compatible test server (120 prompt and 30 completion tokens a call, so 0.105 USD at
0.5 / 1.5 USD per 1k tokens)."""

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from agents.llm import budgets, gateway
from agents.llm.keys import encrypt_api_key
from agents.models import AIAgent, Budget, BudgetUsage, Deployment, LLMCall, ModelProfile, PipelineRun
from agents.pipelines import turns
from conversations import services
from conversations.models import AuditEvent, Conversation, Message
from tests.agents.openai_server import OpenAIServer
from tests.processes import BASE_DIR

CALL_COST = Decimal("0.105")


@pytest.fixture
def openai_server():
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def priced_answers(openai_server, support_inbox, settings):
    """The answer node's profile on a priced deployment of the test server."""
    settings.LLM_PROFILE_REFRESH_SECONDS = 0
    ModelProfile.objects.get(name="balanced").deployments.update(
        model="openai/echo", api_base=openai_server.api_base, api_key_encrypted=encrypt_api_key("sk-test"),
        input_price_per_1k=Decimal("0.5"), output_price_per_1k=Decimal("1.5"),
    )  # fmt: skip
    gateway.forget_profile()
    budgets.forget()
    yield support_inbox.ai_agent
    budgets.forget()


def turn(inbox, text="How long does shipping take?"):
    conversation, _, _ = services.conversation_open(inbox, name="Cleo")
    services.message_post_from_customer(conversation.pk, content=text, client_message_id="c-1", request_ai_turn=False)
    turns.turn_run(conversation.pk)
    conversation.refresh_from_db()
    return conversation


def budget(**fields) -> Budget:
    created = Budget.objects.create(name=f"budget {Budget.objects.count() + 1}", **fields)
    created.full_clean()
    budgets.forget()
    return created


@pytest.mark.django_db
def test_an_exceeded_cap_hands_over_with_budget_exceeded(priced_answers, support_inbox):
    budget(scope=Budget.Scope.AI_AGENT, ai_agent=priced_answers, daily_usd=Decimal("0.1"))

    first = turn(support_inbox)
    second = turn(support_inbox)

    assert first.status == Conversation.Status.FINISHED
    assert second.status == Conversation.Status.PENDING_HUMAN
    assert second.handover_reason == turns.REASONS["budget_exceeded"]
    assert PipelineRun.objects.get(conversation=second).reason == "budget_exceeded"
    # The customer is told a person comes (no apology for an outage), never left in silence.
    notice = second.messages.filter(sender=Message.Sender.AI).last()
    assert notice.content == priced_answers.handover_message
    refused = LLMCall.objects.get(conversation=second, outcome=LLMCall.Outcome.REFUSED)
    assert "cap of 0.1000 USD is used up" in refused.error
    usage = BudgetUsage.objects.get(period="day")
    assert (usage.spent_usd, usage.reserved_usd) == (CALL_COST, 0)


@pytest.mark.django_db
def test_an_exceeded_cap_can_switch_to_a_cheaper_profile(priced_answers, support_inbox):
    cheap = ModelProfile.objects.create(name="cheap")
    Deployment.objects.create(profile=cheap, model="local/hil-small")
    budget(scope=Budget.Scope.INBOX, inbox=support_inbox, hourly_usd=Decimal("0.1"),
           on_exceeded=Budget.OnExceeded.CHEAPER_PROFILE, cheaper_profile=cheap)  # fmt: skip

    turn(support_inbox)
    second = turn(support_inbox)

    assert second.status == Conversation.Status.FINISHED
    answer = LLMCall.objects.get(conversation=second, purpose="answer")
    assert (answer.profile, answer.deployment_model, answer.cost_usd) == (cheap, "local/hil-small", 0)


@pytest.mark.django_db
def test_each_customer_has_a_cap_of_their_own(priced_answers, support_inbox):
    budget(scope=Budget.Scope.CUSTOMER, inbox=support_inbox, monthly_usd=Decimal("0.1"))

    conversation = turn(support_inbox)
    services.message_post_from_customer(conversation.pk, content="And to Spain?", client_message_id="c-2",
                                        request_ai_turn=False)  # fmt: skip
    turns.turn_run(conversation.pk)
    conversation.refresh_from_db()
    other_customer = turn(support_inbox)

    assert conversation.status == Conversation.Status.PENDING_HUMAN
    assert conversation.handover_reason == turns.REASONS["budget_exceeded"]
    assert other_customer.status == Conversation.Status.FINISHED
    assert BudgetUsage.objects.filter(period="month").count() == 2


@pytest.mark.django_db
def test_a_conversation_over_its_token_cap_goes_to_a_person(priced_answers, support_inbox):
    budget(scope=Budget.Scope.INBOX, inbox=support_inbox, conversation_tokens=100)

    conversation = turn(support_inbox)

    assert conversation.status == Conversation.Status.PENDING_HUMAN
    assert conversation.handover_reason == turns.REASONS["budget_exceeded"]


def test_days_and_months_roll_over_at_midnight_in_the_inbox_time_zone():
    # 23:30 on 1 March in Berlin is still 1 March there; 00:30 on 2 March is a new day.
    before_midnight = budgets.period_starts(datetime(2026, 3, 1, 22, 30, tzinfo=UTC), "Europe/Berlin")
    after_midnight = budgets.period_starts(datetime(2026, 3, 1, 23, 30, tzinfo=UTC), "Europe/Berlin")

    assert before_midnight["day"].astimezone(UTC) == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert after_midnight["day"].astimezone(UTC) == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    assert after_midnight["month"].astimezone(UTC) == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert after_midnight["hour"].astimezone(UTC) == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_budget_without_a_cap_or_with_a_wrong_scope_is_a_form_error(admin_client, support_inbox):
    response = admin_client.post("/admin/agents/budget/add/", {
        "name": "nothing", "scope": "ai_agent", "alert_ratio": "0.8", "on_exceeded": "hand_over", "enabled": "on",
    })  # fmt: skip

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["ai_agent"] == ["Choose the AI agent this budget is for."]
    assert Budget.objects.count() == 0


# The cost circuit breaker ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_breaker_pauses_an_agent_whose_last_hour_cost_too_much_and_resume_restarts_it(
    priced_answers, support_inbox, admin_client
):
    AIAgent.objects.filter(pk=priced_answers.pk).update(breaker_usd_per_hour=Decimal("0.1"))
    budgets.forget()

    tripped = turn(support_inbox)  # 0.105 USD: over the limit once it is charged
    after = turn(support_inbox)

    agent = AIAgent.objects.get(pk=priced_answers.pk)
    assert tripped.status == Conversation.Status.FINISHED
    assert agent.paused_at is not None and "0.1050 USD in the last hour" in agent.paused_reason
    assert after.status == Conversation.Status.PENDING_HUMAN
    assert after.handover_reason == turns.REASONS["agent_paused"]
    assert not LLMCall.objects.filter(conversation=after).exists()  # no model was asked
    # The admin shows the banner and the Resume button; resuming is audited.
    page = admin_client.get(f"/admin/agents/aiagent/{agent.pk}/change/").content.decode()
    assert "Support assistant</strong> is paused" in page and "0.1050 USD in the last hour" in page
    assert ">Resume</button>" in page
    assert admin_client.get(f"/admin/agents/aiagent/{agent.pk}/resume/").status_code == 405
    admin_client.post(f"/admin/agents/aiagent/{agent.pk}/resume/")
    assert AIAgent.objects.get(pk=agent.pk).paused_at is None
    events = AuditEvent.objects.filter(target_type="agents.aiagent", target_id=str(agent.pk))
    assert list(events.values_list("action", "actor_label")) == [
        ("ai_agent.resumed", "admin"), ("ai_agent.paused", "cost circuit breaker"),
    ]  # fmt: skip
    AIAgent.objects.filter(pk=agent.pk).update(breaker_usd_per_hour=None)
    budgets.forget()
    assert turn(support_inbox).status == Conversation.Status.FINISHED


@pytest.mark.django_db
def test_a_support_agent_cannot_resume_an_agent(priced_answers, client, support_agent):
    AIAgent.objects.filter(pk=priced_answers.pk).update(paused_at=datetime(2026, 1, 1, tzinfo=UTC))
    client.force_login(support_agent)

    response = client.post(f"/admin/agents/aiagent/{priced_answers.pk}/resume/")

    assert response.status_code in (302, 403)
    assert AIAgent.objects.get(pk=priced_answers.pk).paused_at is not None


# Concurrent spend -----------------------------------------------------------------------------

SPENDER = textwrap.dedent("""
    import django, sys
    django.setup()
    from agents.llm import gateway
    refused = 0
    for _ in range(int(sys.argv[2])):
        try:
            gateway.complete([{"role": "user", "content": "Hello " * 115}], profile=sys.argv[1],
                             links=gateway.Links(agent_id=int(sys.argv[3])))
        except gateway.BudgetExceeded:
            refused += 1
    print(refused)
""")


@pytest.mark.django_db(transaction=True)
def test_concurrent_spend_from_several_processes_overshoots_a_cap_by_at_most_one_estimate(
    openai_server, live_support_inbox, console_env, settings
):
    # An estimate at least the test server's real cost: a long prompt and a short expected answer.
    settings.LLM_BUDGET_COMPLETION_TOKENS = 30
    env = {**console_env, "LLM_BUDGET_COMPLETION_TOKENS": "30"}
    profile = ModelProfile.objects.create(name="priced")
    Deployment.objects.create(profile=profile, model="openai/ok", api_base=openai_server.api_base,
                              api_key_encrypted=encrypt_api_key("sk-test"),
                              input_price_per_1k=Decimal("0.5"), output_price_per_1k=Decimal("1.5"))  # fmt: skip
    agent = live_support_inbox.ai_agent
    cap = Decimal("1.0")
    budget(scope=Budget.Scope.AI_AGENT, ai_agent=agent, hourly_usd=cap)
    estimate, _ = gateway.estimate_cost("priced", [{"role": "user", "content": "Hello " * 115}])
    assert estimate >= CALL_COST

    spenders = [
        subprocess.Popen([sys.executable, "-c", SPENDER, "priced", "12", str(agent.pk)], env=env,
                         cwd=BASE_DIR, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]  # fmt: skip
    refused = sum(int(spender.communicate(timeout=120)[0].strip()) for spender in spenders)

    usage = BudgetUsage.objects.get(period="hour")
    spent = sum(LLMCall.objects.filter(outcome="ok").values_list("cost_usd", flat=True))
    assert usage.spent_usd == spent  # every call was charged, once
    assert usage.reserved_usd == 0
    assert cap <= spent <= cap + estimate
    assert refused == 48 - usage.calls == LLMCall.objects.filter(outcome="refused").count()
    assert refused > 0


def test_budgets_are_listed_in_the_admin_with_their_use(db, admin_client):
    call_command("check")
    assert admin_client.get("/admin/agents/budget/").status_code == 200


@pytest.mark.django_db
def test_supervisors_see_a_paused_agent_on_their_desk(priced_answers, client, django_user_model, support_inbox):
    from reviews.roles import SUPERVISOR
    from reviews.services import inbox_grant
    from tests.conftest import person

    supervisor = person(django_user_model, "sue", SUPERVISOR)
    inbox_grant(supervisor, support_inbox)
    budgets.agent_pause(priced_answers.pk, actor="cost circuit breaker", reason="Too dear.")
    client.force_login(supervisor)

    page = client.get("/desk/").content.decode()

    assert f"AI agent <strong>{priced_answers.name}</strong> is paused: Too dear." in page
