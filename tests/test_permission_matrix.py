"""Who gets what, over every URL, API and socket route of the console.

The cast: an anonymous visitor, two widget customers (A, whose conversation it is, and B), an
agent of inbox 1 (A's conversation is theirs), an agent of inbox 2, a reviewer and a supervisor
of inbox 1, and an admin. The URLconf and the socket routes are walked, so a route added
without a row here fails the test: every new URL is scoped on purpose.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from agents.models import PipelineRun, Tool
from agents.pipelines.defaults import default_pipeline_ensure
from agents.workflows import services as workflows
from agents.workflows.defaults import workflows_ensure
from agents.workflows.documents import document_text
from conversations import consumers
from conversations import services as conversations
from conversations.models import Inbox
from hilconsole.asgi import application
from reviews.review_tasks import review_task_request, tool_approvers_grant
from reviews.roles import REVIEWER, SUPERVISOR, SUPPORT_AGENT
from reviews.routing import websocket_urlpatterns as desk_sockets
from reviews.services import handover_claim, human_agent_profile_ensure, inbox_grant
from tests.conftest import person

PEOPLE = ["anonymous", "customer_a", "customer_b", "agent_1", "agent_2", "reviewer", "supervisor", "admin"]
CUSTOMERS = {"customer_a", "customer_b"}
SHOP = "https://shop.example"
# Not a refusal: an answer the person may get (a 409 for an action the state refuses counts).
ALLOWED = "allowed"
LOGIN = "sign-in"  # redirected to the sign-in page
ADMIN_LOGIN = "admin sign-in"


@dataclass
class World:
    people: dict  # name -> user (None for the anonymous visitor and the customers)
    tokens: dict  # customer name -> customer token
    inbox: Inbox
    conversation: object  # customer A's, claimed by agent 1
    waiting: object  # another of inbox 1, waiting in the queue
    run: PipelineRun
    task: object  # a refund in inbox 1 for a reviewer to decide, asked for by the admin (an outside agent)
    analysis: object  # a document analysis of inbox 1
    application: object  # an application of inbox 1
    ids: dict = field(default_factory=dict)


def build_world(django_user_model) -> World:
    inbox = Inbox.objects.create(name="Shop 1", allowed_origins=[SHOP], greeting="Hi")
    other = Inbox.objects.create(name="Shop 2", allowed_origins=[SHOP], greeting="Hi")
    people = {name: None for name in ("anonymous", *CUSTOMERS)}
    for name, role, inboxes in [
        ("agent_1", SUPPORT_AGENT, [inbox]), ("agent_2", SUPPORT_AGENT, [other]),
        ("reviewer", REVIEWER, [inbox]), ("supervisor", SUPERVISOR, [inbox]),
    ]:  # fmt: skip
        people[name] = person(django_user_model, name.replace("_", ""), role)
        for granted in inboxes:
            inbox_grant(people[name], granted)
    people["admin"] = person(django_user_model, "boss", is_staff=True, is_superuser=True)
    human_agent_profile_ensure(people["supervisor"], skills=["billing"])  # a skill to transfer to
    may_view_runs = Permission.objects.get(codename="view_pipelinerun")
    for name in ("agent_2", "supervisor"):
        people[name].user_permissions.add(may_view_runs)
    conversation, token_a, _ = conversations.conversation_open(inbox, name="Cleo")
    _, token_b, _ = conversations.conversation_open(inbox, name="Dan")
    message = hand_over(conversation, "Where is my parcel?")
    handover_claim(people["agent_1"], conversation.pk)
    waiting, _, _ = conversations.conversation_open(inbox, name="Eve")
    hand_over(waiting, "Hello?")
    run = PipelineRun.objects.create(
        conversation=conversation, version=default_pipeline_ensure(), trace_id=uuid.uuid4().hex,
        status=PipelineRun.Status.FINISHED, last_message_id=message.pk,
    )  # fmt: skip
    tool_approvers_grant(people["reviewer"], "request_refund")
    task = review_task_request(
        people["admin"], tool=Tool.objects.get(name="request_refund"), inbox=inbox, rationale="Arrived broken",
        arguments={"order_number": "100234", "amount": 5, "reason": "Arrived broken"},
    )  # fmt: skip
    tokens = {"customer_a": token_a, "customer_b": token_b}
    analysis_workflow, refund_claim = workflows_ensure(inbox)
    analysis = workflows.analysis_submit(people["admin"], workflow=analysis_workflow, inbox=inbox, title="Lease",
                                         document=document_text(b"A short lease."), requires_signoff=False)  # fmt: skip
    application = workflows.application_submit(people["admin"], workflow=refund_claim, inbox=inbox,
                                               applicant={"name": "Cleo"}, documents=[], fields={})  # fmt: skip
    return World(people, tokens, inbox, conversation, waiting, run, task, analysis, application)


def hand_over(conversation, text):
    message, _ = conversations.message_post_from_customer(
        conversation.pk, content=text, client_message_id=f"c-{conversation.pk}", request_ai_turn=False
    )
    conversations.conversation_start_ai(conversation.pk)
    conversations.conversation_hand_over(conversation.pk, reason="human_request")
    return message


def expect(default, **exceptions) -> dict:
    return {name: exceptions.get(name, default) for name in PEOPLE}


DESK = dict.fromkeys(["anonymous", *CUSTOMERS], LOGIN)
# A conversation of inbox 1: anyone on the desk who works inbox 1 may see it; for agent 2 it does not exist.
IN_INBOX_1 = expect(ALLOWED, **DESK, agent_2=404)
# Acting on agent 1's conversation: its assignee, or a supervisor (the admin is one).
ON_AGENT_1S = expect(ALLOWED, **DESK, agent_2=404, reviewer=403)
# Widget API calls: a customer's widget sends its token; the others have none.
OWN_CONVERSATION = expect(401, customer_a=ALLOWED, customer_b=403)
EVERYONE = expect(ALLOWED)
# A review task of a refund in inbox 1: for those who work inbox 1 and may approve refunds.
REVIEWERS_OF_REFUNDS = expect(404, **DESK, reviewer=ALLOWED, admin=ALLOWED)
# The approvals and review-tasks APIs: session or API token; a widget customer has neither.
SIGNED_IN = dict.fromkeys(["anonymous", *CUSTOMERS], 401)
# A document analysis or an application of inbox 1: for whoever works inbox 1.
SUBMISSION_OF_INBOX_1 = expect(200, **SIGNED_IN, agent_2=404)


@dataclass(frozen=True)
class Route:
    method: str
    path: Callable  # World -> path
    expected: dict
    body: dict | Callable | None = None
    json: bool = False


def c(world):
    return world.conversation.pk


ROUTES: dict[str, Route] = {
    "": Route("get", lambda w: "/", expect(302)),
    "healthz": Route("get", lambda w: "/healthz", EVERYONE),
    "readyz": Route("get", lambda w: "/readyz", EVERYONE),
    # Prometheus: a staff session (or the METRICS_TOKEN bearer, tested with the metrics); 401 otherwise.
    "metrics": Route("get", lambda w: "/metrics", expect(401, admin=ALLOWED)),
    "accounts/login/": Route("get", lambda w: reverse("login"), EVERYONE),
    "accounts/logout/": Route("post", lambda w: reverse("logout"), expect(LOGIN)),
    "desk/": Route("get", lambda w: reverse("desk:home"), expect(ALLOWED, **DESK)),
    "desk/lists/": Route("get", lambda w: reverse("desk:lists"), expect(ALLOWED, **DESK)),
    "desk/conversations/<int:conversation_id>/resync/": Route(
        "get", lambda w: reverse("desk:resync", args=[c(w)]), IN_INBOX_1
    ),
    "desk/reviews/": Route("get", lambda w: reverse("desk:reviews"), expect(ALLOWED, **DESK)),
    "desk/reviews/rows/": Route("get", lambda w: reverse("desk:review_rows"), expect(ALLOWED, **DESK)),
    "desk/reviews/<int:task_id>/": Route(
        "get", lambda w: reverse("desk:review", args=[w.task.pk]), REVIEWERS_OF_REFUNDS
    ),
    "desk/reviews/<int:task_id>/decide/": Route(
        "post",
        lambda w: reverse("desk:review_decide", args=[w.task.pk]),
        REVIEWERS_OF_REFUNDS,
        {"decision": "reject", "comment": "No."},
    ),
    "desk/reviews/<int:task_id>/take-over/": Route(
        "post", lambda w: reverse("desk:review_take_over", args=[w.task.pk]), REVIEWERS_OF_REFUNDS
    ),
    "api/v1/review-tasks": Route("get", lambda w: "/api/v1/review-tasks", expect(200, **SIGNED_IN)),
    "api/v1/review-tasks/<int:task_id>": Route(
        "get", lambda w: f"/api/v1/review-tasks/{w.task.pk}", expect(404, **SIGNED_IN, reviewer=200, admin=200)
    ),
    "api/v1/review-tasks/<int:task_id>/decision": Route(
        "post",
        lambda w: f"/api/v1/review-tasks/{w.task.pk}/decision",
        expect(404, **SIGNED_IN, reviewer=200, admin=200),
        {"decision": "reject", "comment": "No."},
        True,
    ),
    # Asking for approvals needs the permission to add review tasks and the inbox: the admin.
    "api/v1/approvals": Route(
        "post",
        lambda w: "/api/v1/approvals",
        expect(403, **SIGNED_IN, admin=201),
        lambda w: {
            "tool": "request_refund",
            "inbox": w.inbox.pk,
            "rationale": "x",
            "arguments": {"order_number": "100234", "amount": 5, "reason": "Arrived broken"},
        },
        True,
    ),
    "api/v1/approvals/<int:task_id>": Route(
        "get", lambda w: f"/api/v1/approvals/{w.task.pk}", expect(404, **SIGNED_IN, admin=200)
    ),
    "desk/presence/": Route("post", lambda w: reverse("desk:presence"), expect(ALLOWED, **DESK), {"status": "away"}),
    "desk/conversations/<int:conversation_id>/": Route(
        "get", lambda w: reverse("desk:conversation", args=[c(w)]), IN_INBOX_1
    ),
    "desk/conversations/<int:conversation_id>/claim/": Route(
        "post", lambda w: reverse("desk:claim", args=[w.waiting.pk]), IN_INBOX_1
    ),
    "desk/conversations/<int:conversation_id>/messages/": Route(
        "get", lambda w: reverse("desk:earlier", args=[c(w)]) + "?before=999999", IN_INBOX_1
    ),
    "desk/conversations/<int:conversation_id>/reply/": Route(
        "post", lambda w: reverse("desk:reply", args=[c(w)]), ON_AGENT_1S, {"content": "On it."}
    ),
    "desk/conversations/<int:conversation_id>/suggest/": Route(
        "post", lambda w: reverse("desk:suggest", args=[c(w)]), IN_INBOX_1
    ),
    "desk/conversations/<int:conversation_id>/canned/": Route(
        "get", lambda w: reverse("desk:canned", args=[c(w)]), IN_INBOX_1
    ),
    "desk/conversations/<int:conversation_id>/release/": Route(
        "post", lambda w: reverse("desk:release", args=[c(w)]), ON_AGENT_1S
    ),
    "desk/conversations/<int:conversation_id>/transfer/": Route(
        "post", lambda w: reverse("desk:transfer", args=[c(w)]), ON_AGENT_1S, {"to_skill": "billing"}
    ),
    "desk/conversations/<int:conversation_id>/return-to-ai/": Route(
        "post", lambda w: reverse("desk:return_to_ai", args=[c(w)]), ON_AGENT_1S
    ),
    "desk/conversations/<int:conversation_id>/resolve/": Route(
        "post", lambda w: reverse("desk:resolve", args=[c(w)]), ON_AGENT_1S, {"seen_through": 10**9}
    ),
    "demo/": Route("get", lambda w: reverse("demo"), EVERYONE),
    # The demo shop's backend answers only holders of its key, which no person has.
    "demo-shop/api/orders": Route("get", lambda w: "/demo-shop/api/orders?customer=x", expect(401)),
    "demo-shop/api/orders/<order_number:number>": Route("get", lambda w: "/demo-shop/api/orders/100234", expect(401)),
    "demo-shop/api/orders/<order_number:number>/tracking": Route(
        "get", lambda w: "/demo-shop/api/orders/100234/tracking", expect(401)
    ),
    "demo-shop/api/orders/<order_number:number>/refund": Route(
        "post", lambda w: "/demo-shop/api/orders/100234/refund", expect(401), {"amount": "1.00", "reason": "x"}, True
    ),
    "demo-shop/api/orders/<order_number:number>/shipping-address": Route(
        "post", lambda w: "/demo-shop/api/orders/100234/shipping-address", expect(401), {"address": "Elsewhere 1"}, True
    ),
    "demo-shop/api/": Route("get", lambda w: "/demo-shop/api/customers", expect(404)),
    "api/widget/v1/conversations": Route(
        "post", lambda w: "/api/widget/v1/conversations", expect(401, customer_a=201, customer_b=201), {}, True
    ),
    "api/widget/v1/customer-token": Route(
        "post", lambda w: "/api/widget/v1/customer-token", expect(401, customer_a=201, customer_b=201), {}, True
    ),
    "api/widget/v1/conversations/<int:conversation_id>/messages": Route(
        "get", lambda w: f"/api/widget/v1/conversations/{c(w)}/messages", OWN_CONVERSATION
    ),
    "api/widget/v1/conversations/<int:conversation_id>/csat": Route(
        "post", lambda w: f"/api/widget/v1/conversations/{c(w)}/csat", OWN_CONVERSATION, {"rating": 5}, True
    ),
    # Staff with the permission to view runs, of the run's inbox: the supervisor and the admin.
    "api/v1/runs/<int:run_id>/trace": Route(
        "get", lambda w: f"/api/v1/runs/{w.run.pk}/trace", expect(403, agent_2=404, supervisor=200, admin=200)
    ),
    # Submitting needs the permission to add them and the inbox: the admin.
    "api/v1/analyses": Route(
        "post", lambda w: "/api/v1/analyses", expect(403, **SIGNED_IN, admin=202), {"text": "A short lease."}, True
    ),
    "api/v1/analyses/<int:analysis_id>": Route(
        "get", lambda w: f"/api/v1/analyses/{w.analysis.pk}", SUBMISSION_OF_INBOX_1
    ),
    "api/v1/applications": Route(
        "post",
        lambda w: "/api/v1/applications",
        expect(403, **SIGNED_IN, admin=202),
        {"kind": "refund_claim", "applicant": {"name": "Cleo"}},
        True,
    ),
    "api/v1/applications/<int:application_id>": Route(
        "get", lambda w: f"/api/v1/applications/{w.application.pk}", SUBMISSION_OF_INBOX_1
    ),
    "desk/analyses/": Route("get", lambda w: reverse("desk:analyses"), expect(ALLOWED, **DESK)),
    "desk/analyses/<int:analysis_id>/": Route(
        "get", lambda w: reverse("desk:analysis", args=[w.analysis.pk]), IN_INBOX_1
    ),
    "desk/analyses/<int:analysis_id>/progress/": Route(
        "get", lambda w: reverse("desk:analysis_progress", args=[w.analysis.pk]), IN_INBOX_1
    ),
    "desk/applications/": Route("get", lambda w: reverse("desk:applications"), expect(ALLOWED, **DESK)),
    "desk/applications/<int:application_id>/": Route(
        "get", lambda w: reverse("desk:application", args=[w.application.pk]), IN_INBOX_1
    ),
    "api/schema/": Route("get", lambda w: "/api/schema/", EVERYONE),
    "api/docs/": Route("get", lambda w: "/api/docs/", EVERYONE),
    "^api/": Route("get", lambda w: "/api/nothing-here", expect(404)),
}
SENT_MESSAGE = Route(
    "post", lambda w: f"/api/widget/v1/conversations/{c(w)}/messages",
    expect(401, customer_a=202, customer_b=403), {"content": "Hi", "client_message_id": "m-1"}, True,
)  # fmt: skip


def url_routes(patterns=None, prefix="") -> list[str]:
    """Every route of the URLconf; the admin's (generated from its registry) as one."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += [route] if route == "admin/" else url_routes(pattern.url_patterns, route)
        else:
            found.append(route)
    return found


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("hil:throttle:*"):
        client.delete(key)


def client_of(world: World, name: str) -> Client:
    client = Client()
    if world.people[name] is not None:
        client.force_login(world.people[name])
    return client


def outcome(response, world: World, name: str, route: Route) -> object:
    location = response.get("Location", "")
    if response.status_code == 302 and location.startswith(reverse("login")):
        return LOGIN
    if response.status_code == 302 and location.startswith(reverse("admin:login")):
        return ADMIN_LOGIN
    wanted = route.expected[name]
    if wanted == ALLOWED and response.status_code not in (401, 403, 404, 405):
        return ALLOWED
    return response.status_code


def answers(world: World, route: Route) -> dict:
    """What each person gets, each on the same world (a change one makes is undone for the next)."""
    got = {}
    for name in PEOPLE:
        with transaction.atomic():
            got[name] = outcome(send(world, name, route), world, name, route)
            transaction.set_rollback(True)
    return got


def send(world: World, name: str, route: Route):
    client, headers = client_of(world, name), {"HTTP_HX_REQUEST": "true"}
    if name in CUSTOMERS:
        headers |= {"HTTP_ORIGIN": SHOP, "HTTP_X_INBOX_TOKEN": world.inbox.widget_token}
        if "conversations/" in route.path(world) or "customer-token" in route.path(world):
            headers["HTTP_AUTHORIZATION"] = f"Bearer {world.tokens[name]}"
    request = getattr(client, route.method)
    body = route.body(world) if callable(route.body) else route.body
    if route.json:
        return request(route.path(world), json.dumps(body), content_type="application/json", **headers)
    return request(route.path(world), body or {}, **headers)


# The tests ---------------------------------------------------------------------------------------


def test_every_url_of_the_console_has_a_row_in_the_matrix():
    assert set(url_routes()) == {*ROUTES, "admin/"}


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route or "/")
def test_who_gets_what_on_every_url(django_user_model, route):
    world = build_world(django_user_model)

    assert answers(world, ROUTES[route]) == ROUTES[route].expected


@pytest.mark.django_db
def test_only_a_customer_may_write_in_their_own_conversation(django_user_model):
    world = build_world(django_user_model)

    assert answers(world, SENT_MESSAGE) == SENT_MESSAGE.expected


@pytest.mark.django_db
def test_the_admin_is_for_the_admin_alone(django_user_model):
    world = build_world(django_user_model)
    request = type("Request", (), {"user": world.people["admin"]})
    pages = [reverse("admin:index")] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model, model_admin in admin.site._registry.items()
        if model_admin.has_view_permission(request)
    ]

    for page in pages:
        route = Route("get", lambda w, page=page: page, expect(ADMIN_LOGIN, admin=200))
        assert answers(world, route) == route.expected, page


# Sockets: a real ASGI application and the Redis channel layer ------------------------------------


SOCKETS = {
    "ws/widget/<int:conversation_id>/": (
        lambda w: f"/ws/widget/{c(w)}/",
        expect(4401, customer_a="open", customer_b=4403),
    ),
    "ws/desk/": (lambda w: "/ws/desk/", expect("open", **dict.fromkeys(["anonymous", *CUSTOMERS], 4401))),
    "ws/desk/conversations/<int:conversation_id>/": (
        lambda w: f"/ws/desk/conversations/{c(w)}/",
        expect("open", **dict.fromkeys(["anonymous", *CUSTOMERS], 4401), agent_2=4404),
    ),
}


def test_every_socket_route_has_a_row_in_the_matrix():
    from conversations.routing import websocket_urlpatterns as widget_sockets

    assert {str(route.pattern) for route in [*widget_sockets, *desk_sockets]} == set(SOCKETS)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", SOCKETS)
def test_who_may_open_every_socket(django_user_model, route, monkeypatch):
    monkeypatch.setattr(consumers, "AUTH_TIMEOUT_SECONDS", 0.3)  # a widget with no token is closed soon
    world = build_world(django_user_model)
    path, expected = SOCKETS[route]

    got = {name: async_to_sync(socket_outcome)(world, name, path(world)) for name in PEOPLE}

    assert got == expected


async def socket_outcome(world: World, name: str, path: str):
    headers = [(b"host", b"testserver"), (b"origin", SHOP.encode() if name in CUSTOMERS else b"http://testserver")]
    if world.people[name] is not None:
        client = Client()
        await sync(client.force_login)(world.people[name])
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await socket.connect()
    if connected and path.startswith("/ws/widget/") and name in CUSTOMERS:
        await socket.send_json_to({"type": "auth", "token": world.tokens[name]})
    output = await socket.receive_output(timeout=3) if not await socket.receive_nothing(timeout=0.5) else None
    await socket.disconnect()
    if output is None or output.get("type") == "websocket.send":
        return "open"
    return output.get("code")


def sync(function):
    from asgiref.sync import sync_to_async

    return sync_to_async(function)
