"""Admins edit pipelines, prompts and AI agents; staff read run traces."""

import copy
import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from agents.models import AIAgent, Pipeline, PipelineRun, Prompt
from agents.pipelines import turns
from agents.pipelines.defaults import CUSTOMER_SUPPORT, CUSTOMER_SUPPORT_GRAPH
from conversations import services
from reviews.services import inbox_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, site_admin):
    client.force_login(site_admin)
    return client


@pytest.fixture
def answered_run(support_conversation) -> PipelineRun:
    services.message_post_from_customer(
        support_conversation.pk, content="Do you ship to Switzerland?", client_message_id="c-1", request_ai_turn=False
    )
    turns.turn_run(support_conversation.pk)
    return PipelineRun.objects.get(conversation=support_conversation)


def pipeline_form(graph, **extra) -> dict:
    return {"name": CUSTOMER_SUPPORT, "description": "", "graph": json.dumps(graph), "note": "", **extra,
            "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0"}  # fmt: skip


def test_saving_a_changed_graph_creates_the_next_version(admin_client, support_inbox):
    pipeline = Pipeline.objects.get(name=CUSTOMER_SUPPORT)
    graph = copy.deepcopy(CUSTOMER_SUPPORT_GRAPH)
    next(node for node in graph["nodes"] if node["type"] == "retrieve")["limit"] = 12
    url = reverse("admin:agents_pipeline_change", args=[pipeline.pk])

    response = admin_client.post(url, pipeline_form(graph, note="More passages"))

    assert response.status_code == 302
    latest = pipeline.latest_version()
    assert (latest.number, latest.note, latest.created_by) == (2, "More passages", "ada")
    assert AIAgent.objects.get().pipeline_version.number == 1  # agents keep their pinned version
    admin_client.post(url, pipeline_form(graph))
    assert pipeline.versions.count() == 2  # an unchanged graph is not a new version


def test_a_broken_graph_is_a_form_error_naming_the_node_and_saves_nothing(admin_client, support_inbox):
    pipeline = Pipeline.objects.get(name=CUSTOMER_SUPPORT)
    graph = copy.deepcopy(CUSTOMER_SUPPORT_GRAPH)
    graph["nodes"].append({"id": "poem", "type": "poet"})

    response = admin_client.post(reverse("admin:agents_pipeline_change", args=[pipeline.pk]), pipeline_form(graph))

    assert response.status_code == 200
    assert "node &#x27;poem&#x27; has unknown type &#x27;poet&#x27;" in response.content.decode()
    assert pipeline.versions.count() == 1


def test_invalid_json_is_a_form_error(admin_client, support_inbox):
    pipeline = Pipeline.objects.get(name=CUSTOMER_SUPPORT)
    form = pipeline_form({}) | {"graph": "{nodes: ["}

    response = admin_client.post(reverse("admin:agents_pipeline_change", args=[pipeline.pk]), form)

    assert response.status_code == 200 and "Enter a valid JSON." in response.content.decode()


def test_pinning_an_older_version_is_a_one_click_rollback(admin_client, support_inbox):
    pipeline = Pipeline.objects.get(name=CUSTOMER_SUPPORT)
    first = pipeline.latest_version()
    graph = copy.deepcopy(CUSTOMER_SUPPORT_GRAPH)
    graph["nodes"][2]["limit"] = 2
    admin_client.post(reverse("admin:agents_pipeline_change", args=[pipeline.pk]), pipeline_form(graph))
    second = pipeline.latest_version()
    pin = reverse("admin:agents_pipelineversion_pin", args=[second.pk])
    page = admin_client.get(reverse("admin:agents_pipelineversion_change", args=[second.pk])).content.decode()
    assert f'formaction="{pin}"' in page

    admin_client.post(pin)
    assert AIAgent.objects.get().pipeline_version == second
    admin_client.post(reverse("admin:agents_pipelineversion_pin", args=[first.pk]))
    assert AIAgent.objects.get().pipeline_version == first
    assert admin_client.get(pin).status_code == 405


def test_pinning_needs_the_right_to_change_ai_agents(client, support_agent, support_inbox):
    version = Pipeline.objects.get(name=CUSTOMER_SUPPORT).latest_version()
    client.force_login(support_agent)

    response = client.post(reverse("admin:agents_pipelineversion_pin", args=[version.pk]))

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("node_profiles", '{"poem": "fast"}', "has no node &#x27;poem&#x27;"),
        ("node_profiles", '{"answer": "genius"}', "there is no model profile &#x27;genius&#x27;"),
        ("confidence_threshold", "1.5", "A confidence threshold is between 0 and 1."),
        ("skills_by_intent", '{"refund": "billing"}', "Give a JSON object of intent"),
    ],
)
def test_an_ai_agent_with_bad_settings_is_a_form_error(admin_client, support_inbox, field, value, error):
    agent = AIAgent.objects.get()
    form = {
        "name": agent.name, "pipeline_version": agent.pipeline_version_id, "system_prompt": agent.system_prompt_id,
        "default_profile": agent.default_profile_id, "node_profiles": "{}", "confidence_threshold": "0.5",
        "allowed_tools": [], "skills_by_intent": "{}", "handover_message": "Bye", "apology_message": "Sorry",
        "max_consecutive_errors": "3", "turn_limit": "10", field: value,
    }  # fmt: skip

    response = admin_client.post(reverse("admin:agents_aiagent_change", args=[agent.pk]), form)

    assert response.status_code == 200 and error in response.content.decode()


def test_saving_a_changed_prompt_creates_its_next_version(admin_client, support_inbox):
    prompt = Prompt.objects.get()
    url = reverse("admin:agents_prompt_change", args=[prompt.pk])

    admin_client.post(url, {"name": prompt.name, "text": "Be brief.", "note": "Shorter"})

    assert (prompt.latest_version().number, prompt.latest_version().text) == (2, "Be brief.")


def test_every_pipeline_page_renders_with_a_real_run(admin_client, answered_run):
    pages = [
        reverse("admin:agents_pipelinerun_change", args=[answered_run.pk]),
        reverse("admin:agents_pipelinerun_changelist"),
        reverse("admin:agents_pipeline_change", args=[answered_run.version.pipeline_id]),
        reverse("admin:agents_pipelineversion_change", args=[answered_run.version_id]),
        reverse("admin:agents_aiagent_change", args=[answered_run.agent_id]),
    ]

    assert {page: admin_client.get(page).status_code for page in pages} == dict.fromkeys(pages, 200)
    trace_page = admin_client.get(pages[0]).content.decode()
    assert answered_run.trace_id in trace_page and "retrieve" in trace_page


def may_view_runs(user):
    user.user_permissions.add(Permission.objects.get(codename="view_pipelinerun"))


def test_an_agent_of_the_runs_inbox_allowed_to_view_runs_reads_its_trace_as_json(client, support_agent, answered_run):
    may_view_runs(support_agent)
    inbox_grant(support_agent, answered_run.conversation.inbox)
    client.force_login(support_agent)

    trace = client.get(f"/api/v1/runs/{answered_run.pk}/trace").json()

    assert trace["trace_id"] == answered_run.trace_id and trace["status"] == "finished"
    assert [step["type"] for step in trace["steps"]] == ["guard", "retrieve", "classify", "answer", "finish"]
    classify = trace["steps"][2]
    assert classify["intent"] == "faq" and classify["tokens"] > 0 and classify["model"] == "local/hil-small"
    assert trace["totals"]["tokens"] == sum(step["tokens"] for step in trace["steps"])


def test_the_trace_api_refuses_everyone_else_and_bad_requests(client, outsider, support_agent, answered_run):
    url = f"/api/v1/runs/{answered_run.pk}/trace"
    assert client.get(url).json()["error"]["code"] == "not_authenticated"
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    may_view_runs(support_agent)
    inbox_grant(support_agent, answered_run.conversation.inbox)
    client.force_login(support_agent)
    missing = client.get("/api/v1/runs/999999/trace")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert client.post(url).status_code == 405


def test_staff_of_the_runs_inbox_without_the_permission_to_view_runs_are_refused(client, support_agent, answered_run):
    inbox_grant(support_agent, answered_run.conversation.inbox)  # works the inbox, is staff
    client.force_login(support_agent)

    response = client.get(f"/api/v1/runs/{answered_run.pk}/trace")

    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")


def test_a_run_of_an_inbox_someone_does_not_work_does_not_exist_for_them(client, support_agent, answered_run):
    may_view_runs(support_agent)  # allowed to view runs, but works no inbox
    client.force_login(support_agent)

    response = client.get(f"/api/v1/runs/{answered_run.pk}/trace")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_a_superuser_reads_any_runs_trace(client, site_admin, answered_run):
    client.force_login(site_admin)

    assert client.get(f"/api/v1/runs/{answered_run.pk}/trace").json()["run_id"] == answered_run.pk
