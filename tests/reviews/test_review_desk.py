"""The reviewer's desk: who sees which review task (pages, sockets), the decision forms, live
removal from every other reviewer's list, and the agents' view of conversations that wait."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

from agents.models import PipelineRun, Tool
from conversations import services as conversations
from reviews import review_tasks
from reviews.models import RejectionReason, ReviewTask
from reviews.review_tasks import tool_approvers_grant
from reviews.roles import REVIEWER, SUPERVISOR
from reviews.services import inbox_grant
from tests.conftest import person
from tests.reviews.sockets import desk_socket, frames

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def rita(reviewer, inbox):
    inbox_grant(reviewer, inbox)
    tool_approvers_grant(reviewer, "request_refund")
    return reviewer


@pytest.fixture
def vic(django_user_model, inbox):
    """Another reviewer of the same inbox and tool."""
    other = person(django_user_model, "vic", REVIEWER)
    inbox_grant(other, inbox)
    tool_approvers_grant(other, "request_refund")
    return other


def refund_task(inbox, *, amount=20.0, deadline_hours=48, risk="medium") -> ReviewTask:
    """A refund the AI proposed in a conversation of the inbox, its run waiting."""
    from agents.models import AIAgent
    from agents.pipelines.defaults import support_agent_ensure

    agent, _ = support_agent_ensure()
    conversation, _, _ = conversations.conversation_open(inbox, name="Cleo")
    message, _ = conversations.message_post_from_customer(
        conversation.pk, content=f"Refund {amount} euros for order 100234", client_message_id=f"c-{amount}",
        request_ai_turn=False,
    )  # fmt: skip
    conversations.conversation_start_ai(conversation.pk)
    arguments = {"order_number": "100234", "amount": amount, "reason": "arrived broken"}
    proposal = {"tool": "request_refund", "arguments": arguments, "idempotency_key": f"k-{conversation.pk}"}
    run = PipelineRun.objects.create(
        conversation=conversation, agent=AIAgent.objects.get(pk=agent.pk), version=agent.pipeline_version,
        trace_id=f"t{conversation.pk}", status="waiting", next_node="answer", last_message_id=message.pk,
        state={"paused": {"node": "answer", "kind": "tool_call", "step": 3, "resume": {"proposal": proposal}},
               "steps": 4, "question": message.content},
    )  # fmt: skip
    now = timezone.now()
    return ReviewTask.objects.create(
        kind="tool_call", inbox=inbox, conversation=conversation, run=run, step_index=3,
        tool=Tool.objects.get(name="request_refund"), arguments=arguments, customer_words=message.content,
        rationale="The customer asked for it", risk=risk, idempotency_key=proposal["idempotency_key"],
        deadline=now + timedelta(hours=deadline_hours), escalate_at=now + timedelta(hours=24),
    )  # fmt: skip


def url(task, action=""):
    return f"/desk/reviews/{task.pk}/{action + '/' if action else ''}"


# Who sees what -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_review_list_shows_a_reviewers_open_tasks_most_urgent_first(client, rita, inbox):
    later = refund_task(inbox, amount=10, deadline_hours=40)
    sooner = refund_task(inbox, amount=30, deadline_hours=2, risk="high")
    client.force_login(rita)

    page = client.get("/desk/reviews/").content.decode()

    assert page.index(f'id="review-{sooner.pk}"') < page.index(f'id="review-{later.pk}"')
    assert "Refund €30.00 on order 100234" in page and "high risk" in page


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["support_agent", "outsider_reviewer"])
def test_people_who_may_not_decide_get_404_and_an_empty_list(
    client, inbox, rita, support_agent, django_user_model, who
):
    """Ana works the inbox but may not approve refunds; Oscar may approve them but works another inbox."""
    inbox_grant(support_agent, inbox)
    someone = support_agent
    if who == "outsider_reviewer":
        someone = person(django_user_model, "oscar", REVIEWER)
        tool_approvers_grant(someone, "request_refund")
    task = refund_task(inbox)
    client.force_login(someone)

    assert client.get(url(task)).status_code == 404
    assert client.post(url(task, "decide"), {"decision": "approve"}).status_code == 404
    assert f"review-{task.pk}" not in client.get("/desk/reviews/").content.decode()
    assert ReviewTask.objects.get().status == "open"


@pytest.mark.django_db
def test_the_review_pages_are_forbidden_without_a_desk_role(client, outsider, inbox):
    task = refund_task(inbox)
    client.force_login(outsider)

    assert client.get("/desk/reviews/").status_code == 403
    assert client.get(url(task)).status_code == 403


@pytest.mark.django_db
def test_decisions_refuse_a_get(client, rita, inbox):
    client.force_login(rita)

    assert client.get(url(refund_task(inbox), "decide")).status_code == 405


@pytest.mark.django_db
def test_the_task_page_shows_the_words_the_action_the_arguments_and_a_form_from_the_schema(client, rita, inbox):
    task = refund_task(inbox)
    RejectionReason.objects.create(text="Not eligible")
    client.force_login(rita)

    page = client.get(url(task)).content.decode()

    for shown in ("Refund €20.00 on order 100234", "Refund 20.0 euros for order 100234", "The customer asked for it",
                  'name="arg_amount"', 'name="arg_order_number"', 'name="arg_reason"', "Not eligible",
                  "Take the conversation over", f"#run-{task.run_id}"):  # fmt: skip
        assert shown in page, shown


# Deciding on the desk ----------------------------------------------------------------------


@pytest.mark.django_db
def test_approving_on_the_desk_resumes_the_run(client, rita, inbox, django_capture_on_commit_callbacks):
    task = refund_task(inbox)
    client.force_login(rita)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url(task, "decide"), {"decision": "approve"}, **HTMX)

    assert response.status_code == 200 and response["HX-Redirect"] == "/desk/reviews/"
    run = PipelineRun.objects.get()
    assert (run.status, run.state["decision"]["status"], run.state["decision"]["decided_by"]) == (
        "running", "approved", "Rita")  # fmt: skip
    assert callbacks, "the resume is requested once committed"


@pytest.mark.django_db
def test_a_late_decision_is_told_who_decided(client, rita, vic, inbox):
    task = refund_task(inbox)
    review_tasks.review_task_decide(vic, task.pk, "reject", comment="Not eligible")
    client.force_login(rita)

    response = client.post(url(task, "decide"), {"decision": "approve"}, **HTMX)

    assert response.status_code == 409 and "Already rejected by Vic" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, says",
    [
        ({"decision": "edit", "arg_order_number": "100234", "arg_amount": "-5", "arg_reason": "broken"}, "amount"),
        ({"decision": "edit", "arg_order_number": "12", "arg_amount": "5", "arg_reason": "broken"}, "Order Number"),
        ({"decision": "reject", "comment": ""}, "Say why you reject it"),
        ({"decision": "respond", "message": ""}, "Write the reply"),
        ({"decision": "maybe"}, "Select a valid choice"),
    ],
)
def test_bad_decisions_are_a_clear_400_and_decide_nothing(client, rita, inbox, data, says):
    task = refund_task(inbox)
    client.force_login(rita)

    response = client.post(url(task, "decide"), data, **HTMX)

    assert response.status_code == 400 and says in response.content.decode()
    assert ReviewTask.objects.get().status == "open" and PipelineRun.objects.get().status == "waiting"


@pytest.mark.django_db
def test_a_canned_reason_is_the_comment_of_a_rejection(client, rita, inbox):
    task = refund_task(inbox)
    reason = RejectionReason.objects.create(text="We need the item back first.")
    client.force_login(rita)

    client.post(url(task, "decide"), {"decision": "reject", "reason": reason.pk}, **HTMX)

    assert ReviewTask.objects.get().decision_comment == "We need the item back first."


@pytest.mark.django_db
def test_the_agents_desk_lists_conversations_waiting_for_a_decision_without_a_claim_button(client, inbox, rita, ana):
    task = refund_task(inbox)
    client.force_login(ana)

    desk = client.get("/desk/").content.decode()
    workspace = client.get(f"/desk/conversations/{task.conversation_id}/").content.decode()

    assert f'id="waiting-{task.conversation_id}"' in desk and "waiting for a reviewer's decision" in desk
    assert f'id="queue-{task.conversation_id}"' not in desk
    assert "Waiting for a reviewer's decision" in workspace and 'class="claim"' not in workspace
    # Ana may not decide refunds: what the task proposes is not hers to read.
    assert "Refund €20.00" not in desk + workspace and f"/desk/reviews/{task.pk}/" not in workspace


# Live --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_new_task_reaches_its_reviewers_desks_and_no_one_elses(rita, vic, ana, inbox):
    rita_desk, vic_desk, ana_desk = desk_socket(rita), desk_socket(vic), desk_socket(ana)

    async def scenario():
        for desk in (rita_desk, vic_desk, ana_desk):
            assert (await desk.connect())[0]
        task = await sync_to_async(_opened_with_an_event)(inbox)
        for desk in (rita_desk, vic_desk):
            pushed = await frames(desk, f'id="review-{task.pk}" class')
            assert 'hx-swap-oob="beforeend:#review-list"' in pushed and "Refund €20.00" in pushed
        on_ana = await frames(ana_desk, f'id="waiting-{task.conversation_id}" class')
        assert f"review-{task.pk}" not in on_ana and "Refund" not in on_ana  # the conversation waits; no task

        await sync_to_async(review_tasks.review_task_decide)(rita, task.pk, "reject", comment="No")

        await frames(vic_desk, f'<div id="review-{task.pk}" hx-swap-oob="delete">')
        on_ana = await frames(ana_desk, f'<div id="waiting-{task.conversation_id}" hx-swap-oob="delete">')
        assert f"review-{task.pk}" not in on_ana
        for desk in (rita_desk, vic_desk, ana_desk):
            await desk.disconnect()

    async_to_sync(scenario)()


def _opened_with_an_event(inbox) -> ReviewTask:
    task = refund_task(inbox)
    review_tasks._announce(task)  # what opening a task broadcasts, committed at once here
    return task


@pytest.mark.django_db(transaction=True)
def test_a_supervisor_sees_an_escalated_task_highlighted(inbox, rita, django_user_model):
    sue = person(django_user_model, "sue", SUPERVISOR)
    inbox_grant(sue, inbox)
    tool_approvers_grant(sue, "request_refund")
    task = refund_task(inbox)
    ReviewTask.objects.filter(pk=task.pk).update(escalate_at=timezone.now() - timedelta(seconds=1))
    desk = desk_socket(sue)

    async def scenario():
        assert (await desk.connect())[0]
        assert await sync_to_async(review_tasks.review_deadline_sweep)() == {"escalated": 1, "expired": 0}
        pushed = await frames(desk, f'id="review-{task.pk}" class')
        assert "escalated" in pushed and "Escalated" in pushed
        await desk.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db
def test_the_review_pages_render_for_a_reviewer_and_the_admin(client, rita, site_admin, inbox):
    task = refund_task(inbox)
    RejectionReason.objects.create(text="Not eligible")
    for user in (rita, site_admin):
        client.force_login(user)
        for page in ("/desk/reviews/", "/desk/reviews/rows/", url(task)):
            assert client.get(page).status_code == 200, (user, page)
    client.force_login(site_admin)
    for page in (f"/admin/reviews/reviewtask/{task.pk}/change/", "/admin/reviews/rejectionreason/",
                 f"/admin/agents/tool/{task.tool_id}/permissions/"):  # fmt: skip
        assert client.get(page).status_code == 200, page
