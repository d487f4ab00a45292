"""docs/runbook.md, followed step by step: one test per section, doing what the section says
(the same pages, buttons and commands) and checking the outcome it promises."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from agents.llm import budgets, gateway
from agents.llm.keys import encrypt_api_key
from agents.models import AIAgent, Budget, Deployment, ModelProfile, PipelineRun, Tool
from agents.pipelines import turns
from agents.tools.services import tools_for_llm
from agents.workflows.defaults import workflows_ensure
from conversations import services
from conversations.models import AuditEvent, Conversation, Customer, Message
from conversations.services import inbox_ensure
from tests.agents.openai_server import OpenAIServer
from tests.hilconsole.admin_forms import page_form

pytestmark = pytest.mark.django_db

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"


def sections() -> list[str]:
    return re.findall(r"^## (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)


def test_every_procedure_of_the_runbook_has_its_test():
    names = {f"test_{re.sub(r'[^a-z0-9]+', '_', title.lower()).strip('_')}" for title in sections()}

    assert len(names) == 11
    assert names <= set(globals()), names - set(globals())


def ask(inbox, text="How long does shipping take?", name="Cleo", email=""):
    conversation, _, _ = services.conversation_open(inbox, name=name, email=email)
    services.message_post_from_customer(conversation.pk, content=text, client_message_id="c-1", request_ai_turn=False)
    turns.turn_run(conversation.pk)
    conversation.refresh_from_db()
    return conversation


def save_page(client, url: str, **changes):
    response = client.post(url, page_form(client.get(url)) | changes)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    return client.get(response["Location"])


def test_disable_a_tool(admin_client, support_inbox):
    tool = Tool.objects.get(name="get_order_status")
    assert tool.name in [spec["function"]["name"] for spec in tools_for_llm()]
    listing = admin_client.get("/admin/agents/tool/")  # 1. Admin → Agents → Tools
    tools = list(listing.context["cl"].result_list)
    form = {"form-TOTAL_FORMS": str(len(tools)), "form-INITIAL_FORMS": str(len(tools)), "_save": "Save"}
    for index, listed in enumerate(tools):
        form[f"form-{index}-id"] = str(listed.pk)
        if listed.enabled and listed != tool:  # 2. untick Enabled in the tool's row
            form[f"form-{index}-enabled"] = "on"

    assert admin_client.post("/admin/agents/tool/", form).status_code == 302  # 3. Save

    assert tool.name not in [spec["function"]["name"] for spec in tools_for_llm()]
    assert AuditEvent.objects.get(action="tool.changed").after == {"enabled": False}


def test_roll_back_a_prompt(admin_client, support_inbox):
    agent = support_inbox.ai_agent
    prompt = agent.system_prompt.prompt
    save_page(admin_client, f"/admin/agents/prompt/{prompt.pk}/change/", text="Answer in rhymes.")
    newer = prompt.latest_version()
    AIAgent.objects.filter(pk=agent.pk).update(system_prompt=newer)
    earlier = prompt.versions.get(number=1)

    # 1.–3. the agent's page, System prompt: the earlier version, Save
    save_page(admin_client, f"/admin/agents/aiagent/{agent.pk}/change/", system_prompt=str(earlier.pk))

    assert AIAgent.objects.get(pk=agent.pk).system_prompt == earlier
    run = PipelineRun.objects.get(conversation=ask(support_inbox))
    assert run.state["system_prompt"] == earlier.text
    event = AuditEvent.objects.get(action="aiagent.changed")
    assert (event.before["system_prompt_id"], event.after["system_prompt_id"]) == (newer.pk, earlier.pk)


def test_roll_back_a_pipeline_version(admin_client, support_inbox):
    agent = support_inbox.ai_agent
    pipeline = agent.pipeline_version.pipeline
    first = pipeline.versions.get(number=1)
    graph = {**first.graph, "nodes": [dict(n, limit=2) if n["type"] == "retrieve" else n for n in first.graph["nodes"]]}
    save_page(admin_client, f"/admin/agents/pipeline/{pipeline.pk}/change/", graph=json.dumps(graph))
    admin_client.post(f"/admin/agents/pipelineversion/{pipeline.latest_version().pk}/pin/")
    assert AIAgent.objects.get(pk=agent.pk).pipeline_version.number == 2

    page = admin_client.get(f"/admin/agents/pipelineversion/{first.pk}/change/")  # 1. open the version
    assert f"Pin v1 on every AI agent of {pipeline}" in page.content.decode()
    confirmed = admin_client.post(f"/admin/agents/pipelineversion/{first.pk}/pin/", follow=True)  # 2. click

    assert f"{agent.name} now run {first}." in confirmed.content.decode()  # 3. confirmed
    assert AIAgent.objects.get(pk=agent.pk).pipeline_version == first
    assert AuditEvent.objects.filter(action="aiagent.pinned").first().after == {"pipeline_version_id": first.pk}


def test_fail_over_a_model(admin_client, support_inbox):
    with OpenAIServer() as server:
        profile = ModelProfile.objects.create(name="failover")
        for position, model in enumerate(["primary", "standby"]):
            Deployment.objects.create(
                profile=profile, position=position, model=f"openai/{model}", api_base=server.api_base,
                api_key_encrypted=encrypt_api_key("sk-test"),
            )  # fmt: skip
        assert gateway.complete([{"role": "user", "content": "Hi"}], profile="failover").content == "Hello from primary"

        # 1. the profile's page; 2. the standby gets the lowest position; 3. Save
        save_page(admin_client, f"/admin/agents/modelprofile/{profile.pk}/change/",
                  **{"deployments-0-position": "1", "deployments-1-position": "0"})  # fmt: skip

        assert gateway.complete([{"role": "user", "content": "Hi"}], profile="failover").content == "Hello from standby"
    assert AuditEvent.objects.filter(action="deployment.changed").count() == 2


def test_pause_and_resume_an_ai_agent(admin_client, support_inbox, settings):
    settings.LLM_PROFILE_REFRESH_SECONDS = 0
    agent = support_inbox.ai_agent

    # 1.–2. AI agents: tick the agent, action "Pause the selected AI agents", Go
    response = admin_client.post("/admin/agents/aiagent/", {"action": "pause_agents", "_selected_action": [agent.pk]},
                                 follow=True)  # fmt: skip

    page = response.content.decode()
    assert f"AI agent <strong>{agent.name}</strong> is paused" in page and ">Resume</button>" in page
    paused = ask(support_inbox)
    assert paused.status == Conversation.Status.PENDING_HUMAN
    assert paused.handover_reason == turns.REASONS["agent_paused"]
    assert paused.messages.filter(sender=Message.Sender.AI).last().content == agent.handover_message

    admin_client.post(f"/admin/agents/aiagent/{agent.pk}/resume/")  # 3. Resume in the banner

    budgets.forget()
    assert ask(support_inbox).status == Conversation.Status.FINISHED
    assert [e.action for e in AuditEvent.objects.filter(target_type="agents.aiagent").order_by("pk")] == [
        "ai_agent.paused", "ai_agent.resumed",
    ]  # fmt: skip


def test_set_a_budget(admin_client, support_inbox):
    # 1. Budgets → Add; 2. name, scope and inbox; 3. a daily cap, the alert, what happens; 4. Save
    response = admin_client.post("/admin/agents/budget/add/", {
        "name": "Support per day", "scope": "inbox", "inbox": str(support_inbox.pk), "daily_usd": "25",
        "alert_ratio": "0.8", "on_exceeded": "hand_over", "enabled": "on",
    })  # fmt: skip

    assert response.status_code == 302
    budget = Budget.objects.get(name="Support per day")
    assert budget.caps() == {"day": Decimal("25")}
    dashboard = admin_client.get("/admin/?period=24h").content.decode()
    assert "Support per day" in dashboard and "$25.0000" in dashboard
    assert (
        "day: 0.0000 of 25.0000 USD (0%)"
        in admin_client.get(f"/admin/agents/budget/{budget.pk}/change/").content.decode()
    )


def test_find_one_conversation_s_trace(admin_client, support_inbox):
    conversation = ask(support_inbox, name="Cleo Trace", email="cleo.trace@example.org")

    found = admin_client.get("/admin/conversations/conversation/", {"q": "cleo.trace@example.org"})  # 1.
    assert list(found.context["cl"].result_list) == [conversation]
    runs = admin_client.get("/admin/agents/pipelinerun/", {"q": str(conversation.pk)})  # 2.
    [run] = runs.context["cl"].result_list
    page = admin_client.get(f"/admin/agents/pipelinerun/{run.pk}/change/").content.decode()  # 3.

    for node in ("guard", "classify", "retrieve", "answer", "reply"):
        assert f"<td>{node}</td>" in page
    trace = admin_client.get(f"/api/v1/runs/{run.pk}/trace").json()
    assert [step["node"] for step in trace["steps"]] == ["guard", "retrieve", "classify", "answer", "reply"]


def test_rotate_a_widget_token(admin_client, client, support_inbox):
    old = support_inbox.widget_token
    widget = {"content_type": "application/json", "headers": {"X-Inbox-Token": old, "Origin": "https://shop.example"}}
    started = client.post("/api/widget/v1/conversations", {"customer": {"name": "Cleo"}}, **widget)
    assert started.status_code == 201

    page = admin_client.get(f"/admin/conversations/inbox/{support_inbox.pk}/change/").content.decode()  # 1.
    assert "Rotate widget token" in page
    admin_client.post(f"/admin/conversations/inbox/{support_inbox.pk}/rotate-token/")  # 2.

    support_inbox.refresh_from_db()
    refused = client.post("/api/widget/v1/conversations", {"customer": {}}, **widget)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unknown_inbox_token"
    # Customers already chatting keep their session.
    token, conversation_id = started.json()["customer_token"], started.json()["conversation_id"]
    session = {"Authorization": f"Bearer {token}", "Origin": "https://shop.example"}
    assert client.get(f"/api/widget/v1/conversations/{conversation_id}/messages", headers=session).status_code == 200
    tag = admin_client.get(f"/admin/conversations/inbox/{support_inbox.pk}/change/").content.decode()  # 3.
    assert f'data-inbox-token="{support_inbox.widget_token}"' in tag and old not in tag


def test_forget_a_customer(admin_client, support_inbox, tmp_path):
    conversation = ask(support_inbox, text="Ship order 100234 to 1 Elm Street", email="cleo.forget@example.org")
    call_command("export_customer", "cleo.forget@example.org", output=str(tmp_path / "customer.json"))
    assert "1 Elm Street" in (tmp_path / "customer.json").read_text()

    call_command("forget_customer", "cleo.forget@example.org")

    customer = Customer.objects.get(pk=conversation.customer_id)
    assert (customer.email, customer.name) == ("", "")
    assert not Message.objects.filter(conversation=conversation).exists()
    assert PipelineRun.objects.get(conversation=conversation).state == {"erased": True}
    # The admin path: search, tick, action, confirm.
    other = ask(support_inbox, name="Dora", email="dora@example.org").customer
    listed = admin_client.get("/admin/conversations/customer/", {"q": "dora@example.org"})
    assert list(listed.context["cl"].result_list) == [other]
    form = {"action": "forget_customers", "_selected_action": [other.pk]}
    assert "Yes, forget them" in admin_client.post("/admin/conversations/customer/", form).content.decode()
    admin_client.post("/admin/conversations/customer/", form | {"confirmed": "yes"})
    assert Customer.objects.get(pk=other.pk).email == ""
    assert AuditEvent.objects.filter(action="customer.forgotten").count() == 2


def test_switch_off_a_back_office_workflow(admin_client, site_admin):
    inbox, _ = inbox_ensure(name="Back office", allowed_origins=[], greeting="Hi")
    workflow = next(w for w in workflows_ensure(inbox) if w.name == "refund_claim")
    url = f"/admin/agents/workflow/{workflow.pk}/change/"  # 1. Admin → Agents → Workflows → the workflow
    form = page_form(admin_client.get(url))
    del form["enabled"]  # 2. untick Enabled

    assert admin_client.post(url, form).status_code == 302  # 3. Save

    api = APIClient()
    api.force_authenticate(site_admin)
    refused = api.post("/api/v1/applications", {"kind": "refund_claim", "applicant": {"name": "Cleo"}}, format="json")
    assert refused.status_code == 400 and "refund_claim" in refused.json()["error"]["message"]
    assert AuditEvent.objects.get(action="workflow.changed").after == {"enabled": False}


def test_read_readyz(client, live_worker):
    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 200 and body["status"] == "ready"
    assert set(body["checks"]) == {"database", "pgvector", "redis", "celery", "channel_layer"}
    documented = re.findall(r"^\| `(\w+)` \|", RUNBOOK.read_text(), flags=re.MULTILINE)
    assert set(documented) == set(body["checks"])
