"""Every admin change to what runs the operation is an AuditEvent with its actor, before and
after; the audit log is read-only, filterable, searchable and exports as streamed CSV."""

import csv
import io
import json
from decimal import Decimal

import pytest

from agents.models import AIAgent, Budget, Deployment, ModelProfile, Pipeline, Prompt, Tool, ToolApprovalRule
from conversations.models import AuditEvent, Inbox
from reviews.models import HumanAgent
from tests.hilconsole.admin_forms import page_form

pytestmark = pytest.mark.django_db


def change(client, url: str, **changes):
    """Open the admin page, change some fields, save; the response of the save."""
    data = page_form(client.get(url)) | {key: value for key, value in changes.items()}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    return response


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_changing_an_ai_agent_records_actor_before_and_after(admin_client, support_inbox):
    agent = support_inbox.ai_agent
    tool = Tool.objects.get(name="get_order_status")

    change(admin_client, f"/admin/agents/aiagent/{agent.pk}/change/", confidence_threshold="0.65",
           allowed_tools=[str(t.pk) for t in agent.allowed_tools.all() if t != tool])  # fmt: skip

    [event] = events("aiagent.changed")
    assert event.actor_label == "admin" and event.target_id == str(agent.pk)
    assert (event.before["confidence_threshold"], event.after["confidence_threshold"]) == (0.5, 0.65)
    assert tool.pk in event.before["allowed_tools"] and tool.pk not in event.after["allowed_tools"]
    assert set(event.after) == {"confidence_threshold", "allowed_tools"}  # only what changed


def test_an_approval_rule_added_on_the_agent_page_is_audited(admin_client, support_inbox):
    agent = support_inbox.ai_agent
    tool = Tool.objects.get(name="get_order_status")

    change(admin_client, f"/admin/agents/aiagent/{agent.pk}/change/", **{
        "approval_rules-TOTAL_FORMS": "1", "approval_rules-0-tool": str(tool.pk),
        "approval_rules-0-condition": "order_number == '1'", "approval_rules-0-agent": str(agent.pk),
    })  # fmt: skip

    rule = ToolApprovalRule.objects.get()
    [event] = events("toolapprovalrule.created")
    assert event.after["condition"] == "order_number == '1'" and event.target_id == str(rule.pk)


def test_a_deployment_key_is_recorded_only_as_changed(admin_client, support_inbox):
    profile = ModelProfile.objects.get(name="balanced")
    deployment = profile.deployments.get()

    change(admin_client, f"/admin/agents/modelprofile/{profile.pk}/change/", **{
        "deployments-0-api_key": "sk-very-secret-key", "deployments-0-timeout_seconds": "12.0",
    })  # fmt: skip

    [event] = events("deployment.changed")
    assert event.target_id == str(deployment.pk)
    assert event.after == {"api_key_encrypted": "changed", "timeout_seconds": 12.0}
    assert event.before == {"api_key_encrypted": "", "timeout_seconds": 30.0}
    assert not AuditEvent.objects.filter(after__icontains="sk-very-secret").exists()
    assert not [e for e in AuditEvent.objects.all() if "sk-very-secret" in json.dumps([e.before, e.after])]


def test_reordering_deployments_is_audited(admin_client, support_inbox):
    profile = ModelProfile.objects.get(name="balanced")
    Deployment.objects.create(profile=profile, position=1, model="openai/gpt-4o-mini")

    change(admin_client, f"/admin/agents/modelprofile/{profile.pk}/change/",
           **{"deployments-0-position": "2", "deployments-1-position": "0"})  # fmt: skip

    assert sorted((e.before["position"], e.after["position"]) for e in events("deployment.changed")) == [
        (0, 2), (1, 0),
    ]  # fmt: skip


def test_switching_a_tool_off_in_the_list_is_audited(admin_client, support_inbox):
    tool = Tool.objects.get(name="get_order_status")
    tools = list(Tool.objects.order_by("name"))
    form = {"form-TOTAL_FORMS": str(len(tools)), "form-INITIAL_FORMS": str(len(tools)), "_save": "Save"}
    for index, listed in enumerate(tools):
        form[f"form-{index}-id"] = str(listed.pk)
        if listed.enabled and listed != tool:
            form[f"form-{index}-enabled"] = "on"

    response = admin_client.post("/admin/agents/tool/", form)

    assert response.status_code == 302
    assert Tool.objects.get(pk=tool.pk).enabled is False
    [event] = events("tool.changed")
    assert (event.target_id, event.before, event.after) == (str(tool.pk), {"enabled": True}, {"enabled": False})


def test_granting_who_may_approve_a_tool_is_audited(admin_client, support_inbox, reviewer):
    tool = Tool.objects.get(name="request_refund")
    url = f"/admin/agents/tool/{tool.pk}/permissions/user-manage/{reviewer.pk}/"

    response = admin_client.post(url, {"permissions": ["approve_tool"]})

    assert response.status_code == 302
    [event] = events("tool.permissions_changed")
    assert event.before == {"user": "rita", "permissions": []}
    assert event.after == {"user": "rita", "permissions": ["approve_tool"]}


def test_a_budget_set_in_the_admin_is_audited(admin_client, support_inbox):
    response = admin_client.post("/admin/agents/budget/add/", {
        "name": "Support daily", "scope": "inbox", "inbox": str(support_inbox.pk), "daily_usd": "20",
        "alert_ratio": "0.8", "on_exceeded": "hand_over", "enabled": "on",
    })  # fmt: skip

    assert response.status_code == 302
    budget = Budget.objects.get()
    [event] = events("budget.created")
    assert event.before == {} and event.after["daily_usd"] == "20.0000" and event.after["inbox_id"] == support_inbox.pk
    assert budget.daily_usd == Decimal("20")


def test_inbox_origins_assignment_and_sla_changes_and_token_rotation_are_audited(admin_client, support_inbox):
    old_token = support_inbox.widget_token

    change(admin_client, f"/admin/conversations/inbox/{support_inbox.pk}/change/",
           allowed_origins='["https://shop.example", "https://m.shop.example"]', auto_assignment="balanced",
           sla_claim_seconds="60")  # fmt: skip
    admin_client.post(f"/admin/conversations/inbox/{support_inbox.pk}/rotate-token/")

    [edited] = events("inbox.changed")
    assert edited.after == {"allowed_origins": ["https://shop.example", "https://m.shop.example"],
                            "auto_assignment": "balanced", "sla_claim_seconds": 60}  # fmt: skip
    assert edited.before["sla_claim_seconds"] == 180
    [rotated] = events("inbox.widget_token_rotated")
    support_inbox.refresh_from_db()
    assert (
        rotated.before == {"widget_token": old_token} != rotated.after == {"widget_token": support_inbox.widget_token}
    )
    assert rotated.actor_label == "admin"
    assert not AuditEvent.objects.filter(after__icontains=support_inbox.identity_secret).exists()


def test_new_pipeline_and_prompt_versions_and_pins_are_audited(admin_client, support_inbox):
    agent = support_inbox.ai_agent
    pipeline = agent.pipeline_version.pipeline
    prompt = agent.system_prompt.prompt
    graph = dict(pipeline.latest_version().graph)
    graph["nodes"] = [dict(node, limit=3) if node["type"] == "retrieve" else node for node in graph["nodes"]]

    change(admin_client, f"/admin/agents/pipeline/{pipeline.pk}/change/", graph=json.dumps(graph), note="fewer")
    change(admin_client, f"/admin/agents/prompt/{prompt.pk}/change/", text="Be brief.", note="shorter")
    first = pipeline.versions.get(number=1)
    admin_client.post(f"/admin/agents/pipelineversion/{first.pk}/pin/")
    admin_client.post(f"/admin/agents/pipelineversion/{pipeline.latest_version().pk}/pin/")

    versions = events("pipelineversion.created")
    assert [e.after["number"] for e in versions] == [2] and versions[0].after["note"] == "fewer"
    assert events("promptversion.created")[0].after["text"] == "Be brief."
    pins = events("aiagent.pinned")
    assert [(e.before["pipeline_version_id"], e.after["pipeline_version_id"]) for e in pins][-1] == (
        first.pk, pipeline.latest_version().pk,
    )  # fmt: skip
    assert Pipeline.objects.count() == 1 and Prompt.objects.count() >= 1


def test_people_and_their_desk_profiles_are_audited(admin_client, support_agent):
    change(admin_client, f"/admin/auth/user/{support_agent.pk}/change/", first_name="Anabel", is_staff="")
    profile, _ = HumanAgent.objects.get_or_create(user=support_agent)
    change(admin_client, f"/admin/reviews/humanagent/{profile.pk}/change/", skills="billing, returns")

    [person] = events("user.changed")
    assert (person.before["first_name"], person.before["is_staff"]) == ("Ana", True)
    assert (person.after["first_name"], person.after["is_staff"]) == ("Anabel", False)
    assert "password" not in person.after
    [desk] = events("humanagent.changed")
    assert desk.after["skills"] == ["billing", "returns"]


def test_a_password_set_in_the_admin_is_audited_without_the_password(admin_client, support_agent):
    url = f"/admin/auth/user/{support_agent.pk}/password/"

    response = admin_client.post(url, {"password1": "A-new-pass-4711", "password2": "A-new-pass-4711",
                                       "usable_password": "true"})  # fmt: skip
    admin_client.post(url, {"password1": "short", "password2": "different"})  # refused: no event

    assert response.status_code == 302
    [event] = events("user.password_changed")
    assert (event.target_id, event.after) == (str(support_agent.pk), {"password": "changed"})


def test_deleting_in_the_admin_is_audited(admin_client, support_inbox):
    budget = Budget.objects.create(name="temporary", scope="inbox", inbox=support_inbox, daily_usd=1)

    admin_client.post(f"/admin/agents/budget/{budget.pk}/delete/", {"post": "yes"})

    [event] = events("budget.deleted")
    assert event.target_id == str(budget.pk) and event.before["name"] == "temporary" and event.after == {}


# The audit log ------------------------------------------------------------------------------


@pytest.fixture
def logged(admin_client, support_inbox):
    change(admin_client, f"/admin/conversations/inbox/{support_inbox.pk}/change/", sla_claim_seconds="90")
    admin_client.post(f"/admin/conversations/inbox/{support_inbox.pk}/rotate-token/")
    return support_inbox


def test_the_audit_log_is_read_only(admin_client, logged):
    event = AuditEvent.objects.first()

    assert admin_client.get("/admin/conversations/auditevent/add/").status_code == 403
    assert admin_client.post(f"/admin/conversations/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    page = admin_client.get(f"/admin/conversations/auditevent/{event.pk}/change/").content.decode()
    assert 'name="_save"' not in page


def test_the_audit_log_filters_by_actor_action_object_and_date_and_searches(admin_client, admin_user, logged):
    base = "/admin/conversations/auditevent/"

    by_action = admin_client.get(base, {"action": "inbox.widget_token_rotated"}).context["cl"].result_list
    by_actor = admin_client.get(base, {"actor__id__exact": admin_user.pk}).context["cl"].result_list
    by_object = admin_client.get(base, {"target_type": "conversations.inbox"}).context["cl"].result_list
    searched = admin_client.get(base, {"q": "rotated"}).context["cl"].result_list
    by_date = admin_client.get(base, {"created_at__year": "2000"})

    assert [e.action for e in by_action] == ["inbox.widget_token_rotated"]
    assert {e.action for e in by_actor} == {"inbox.changed", "inbox.widget_token_rotated"}
    assert {e.action for e in by_object} >= {"inbox.changed", "inbox.widget_token_rotated"}
    assert [e.action for e in searched] == ["inbox.widget_token_rotated"]
    assert list(by_date.context["cl"].result_list) == []


def test_the_audit_log_exports_as_streamed_csv_with_the_filters_shown(admin_client, logged):
    response = admin_client.get("/admin/conversations/auditevent/export.csv", {"target_type": "conversations.inbox"})

    assert response.streaming and response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["created_at", "actor_label", "action", "target_type", "target_id", "before", "after"]
    assert {row[2] for row in rows[1:]} == {"inbox.changed", "inbox.widget_token_rotated", "inbox.ai_agent_assigned"}
    assert json.loads(rows[1][6]) or json.loads(rows[1][5])


def test_the_audit_log_and_its_export_are_refused_to_a_support_agent(client, support_agent, logged):
    client.force_login(support_agent)

    assert client.get("/admin/conversations/auditevent/").status_code == 403
    assert client.get("/admin/conversations/auditevent/export.csv").status_code == 403


def test_the_export_of_many_events_streams_in_chunks(admin_client, support_inbox):
    AuditEvent.objects.bulk_create(
        [AuditEvent(actor_label="import", action="bulk.made", target_type="x", target_id=str(n)) for n in range(5000)]
    )

    response = admin_client.get("/admin/conversations/auditevent/export.csv", {"action": "bulk.made"})
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)

    assert lines == 5001


def test_an_unknown_inbox_is_a_404_for_rotation(admin_client):
    assert admin_client.post("/admin/conversations/inbox/999999/rotate-token/").status_code == 404
    assert Inbox.objects.count() == 0
    assert AIAgent.objects.count() == 0
