"""The approvals API (/api/v1/): the tasks a caller may decide, decisions with clear errors, and
outside agents asking for decisions, with signed callbacks delivered by the real worker."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token

from agents.models import Tool
from reviews.models import ReviewTask
from reviews.review_tasks import tool_approvers_grant
from reviews.services import inbox_grant
from tests.callbacks import CallbackReceiver
from tests.processes import wait_until
from tests.reviews.test_review_desk import refund_task

API = "/api/v1"


@pytest.fixture
def rita(reviewer, inbox):
    inbox_grant(reviewer, inbox)
    tool_approvers_grant(reviewer, "request_refund")
    return reviewer


def token_of(user) -> dict:
    """A personal API token, as an admin creates one (Auth Token › Tokens)."""
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


@pytest.mark.django_db
def test_a_reviewer_lists_the_open_tasks_they_may_decide(client, rita, inbox, other_inbox):
    mine = refund_task(inbox)
    refund_task(other_inbox, amount=5)  # not an inbox rita works

    body = client.get(f"{API}/review-tasks?status=open", **token_of(rita)).json()

    assert [task["id"] for task in body["results"]] == [mine.pk] and body["has_more"] is False
    task = body["results"][0]
    assert {key: task[key] for key in ("kind", "tool", "risk", "status", "conversation_id")} == {
        "kind": "tool_call", "tool": "request_refund", "risk": "medium", "status": "open",
        "conversation_id": mine.conversation_id,
    }  # fmt: skip
    assert task["arguments"]["amount"] == 20.0 and task["action"] == "Refund €20.00 on order 100234"


@pytest.mark.django_db
def test_a_reviewer_decides_through_the_api(client, rita, inbox):
    task = refund_task(inbox)

    response = client.post(
        f"{API}/review-tasks/{task.pk}/decision",
        {"decision": "edit", "arguments": {**task.arguments, "amount": 12.5}, "comment": "Partial"},
        content_type="application/json", **token_of(rita),
    )  # fmt: skip

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["final_arguments"]["amount"]) == ("edited", 12.5)
    assert response.json()["decided_by"] == "Rita"


@pytest.mark.django_db
def test_a_second_decision_is_409_naming_who_decided(client, rita, inbox):
    task = refund_task(inbox)
    auth = token_of(rita)
    client.post(
        f"{API}/review-tasks/{task.pk}/decision", {"decision": "approve"}, content_type="application/json", **auth
    )

    response = client.post(
        f"{API}/review-tasks/{task.pk}/decision", {"decision": "approve"}, content_type="application/json", **auth
    )

    assert error_of(response) == (409, "already_decided") and "by Rita" in response.json()["error"]["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, field",
    [
        ({"decision": "perhaps"}, "decision"),
        ({"decision": "reject"}, "comment"),
        ({"decision": "edit", "arguments": {"order_number": "100234", "amount": "lots", "reason": "x"}}, "arguments"),
        ({"decision": "edit", "arguments": "twenty"}, "arguments"),
        ({"decision": "respond", "message": ""}, "message"),
    ],
)
def test_an_invalid_decision_is_400_naming_the_field(client, rita, inbox, body, field):
    task = refund_task(inbox)

    response = client.post(
        f"{API}/review-tasks/{task.pk}/decision", body, content_type="application/json", **token_of(rita)
    )

    assert error_of(response) == (400, "invalid") and field in response.json()["error"]["fields"]
    assert ReviewTask.objects.get().status == "open"


@pytest.mark.django_db
def test_someone_who_may_not_decide_gets_404_and_anonymous_callers_401(client, inbox, support_agent):
    inbox_grant(support_agent, inbox)  # works the inbox, may not approve refunds
    task = refund_task(inbox)
    auth = token_of(support_agent)

    assert client.get(f"{API}/review-tasks/{task.pk}", **auth).status_code == 404
    decided = client.post(f"{API}/review-tasks/{task.pk}/decision", {"decision": "approve"},
                          content_type="application/json", **auth)  # fmt: skip
    assert error_of(decided) == (404, "not_found")
    assert client.get(f"{API}/review-tasks", **auth).json()["results"] == []
    assert client.get(f"{API}/review-tasks").status_code == 401
    assert client.get(f"{API}/review-tasks", HTTP_AUTHORIZATION="Token nope").status_code == 401


# Outside agents ----------------------------------------------------------------------------


@pytest.fixture
def outside_tool(db):
    return Tool.objects.create(
        name="wire_transfer", description="Send money", risk="gated", external=True, declared=False,
        timeout_seconds=0, retries=0, cache_ttl_seconds=0,
        argument_schema={"type": "object", "required": ["iban", "amount"],
                         "properties": {"iban": {"type": "string"}, "amount": {"type": "number", "maximum": 1000}}},
    )  # fmt: skip


@pytest.fixture
def agent_account(django_user_model, inbox):
    """The service account of an outside agent: may ask for approvals in the inbox."""
    account = django_user_model.objects.create_user(username="bot")
    account.user_permissions.add(Permission.objects.get(codename="add_reviewtask"))
    inbox_grant(account, inbox)
    return account


def ask_for_approval(client, account, to_inbox, **overrides):
    body = {"tool": "wire_transfer", "arguments": {"iban": "DE89370400440532013000", "amount": 250},
            "rationale": "Supplier invoice 42", "inbox": to_inbox.pk, **overrides}  # fmt: skip
    return client.post(f"{API}/approvals", body, content_type="application/json", **token_of(account))


@pytest.mark.django_db
def test_an_outside_agent_asks_and_reads_the_decision_back(client, agent_account, inbox, outside_tool, reviewer):
    inbox_grant(reviewer, inbox)
    tool_approvers_grant(reviewer, "wire_transfer")

    asked = ask_for_approval(client, agent_account, inbox)
    assert asked.status_code == 201 and asked.json()["status"] == "open"
    task_id = asked.json()["id"]
    assert [task["id"] for task in client.get(f"{API}/review-tasks", **token_of(reviewer)).json()["results"]] == [
        task_id
    ]
    client.post(f"{API}/review-tasks/{task_id}/decision", {"decision": "approve"}, content_type="application/json",
                **token_of(reviewer))  # fmt: skip

    read = client.get(f"{API}/approvals/{task_id}", **token_of(agent_account)).json()
    assert (read["status"], read["decided_by"], read["tool"]) == ("approved", "Rita", "wire_transfer")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"tool": "teleport"}, "tool"),
        ({"arguments": {"iban": "DE89", "amount": 5000}}, "arguments.amount"),
        ({"arguments": {"amount": 5}}, "arguments.arguments"),
        ({"inbox": 999_999}, "inbox"),
        ({"callback_url": "not a url"}, "callback_url"),
    ],
)
def test_a_bad_approval_request_is_400_naming_the_field(client, agent_account, inbox, outside_tool, overrides, field):
    response = ask_for_approval(client, agent_account, inbox, **overrides)

    assert error_of(response) == (400, "invalid") and field in response.json()["error"]["fields"]
    assert not ReviewTask.objects.exists()


@pytest.mark.django_db
def test_an_account_without_the_permission_cannot_ask_nor_read_someone_elses_request(
    client, agent_account, inbox, outside_tool, support_agent
):
    inbox_grant(support_agent, inbox)
    task_id = ask_for_approval(client, agent_account, inbox).json()["id"]

    assert error_of(ask_for_approval(client, support_agent, inbox)) == (403, "not_allowed")
    assert client.get(f"{API}/approvals/{task_id}", **token_of(support_agent)).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_decision_is_posted_to_the_callback_signed_retried_and_once(
    client, live_worker, agent_account, inbox, outside_tool, reviewer
):
    inbox_grant(reviewer, inbox)
    tool_approvers_grant(reviewer, "wire_transfer")
    with CallbackReceiver(failures=1) as endpoint:
        task_id = ask_for_approval(client, agent_account, inbox, callback_url=endpoint.url).json()["id"]

        client.post(f"{API}/review-tasks/{task_id}/decision", {"decision": "reject", "comment": "Unknown supplier"},
                    content_type="application/json", **token_of(reviewer))  # fmt: skip

        wait_until(lambda: endpoint.calls, "the callback to be delivered", timeout=60)
        (decision,) = endpoint.decisions()  # signed
        assert decision | {"status": "rejected", "comment": "Unknown supplier", "id": task_id} == decision
        wait_until(lambda: ReviewTask.objects.get().callback_delivered_at is not None, "the delivery to be recorded")
        assert (endpoint.attempts, ReviewTask.objects.get().callback_attempts) == (2, 2)
