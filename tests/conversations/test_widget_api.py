import functools
import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations import services
from conversations.models import AuditEvent, Conversation, Customer, CustomerToken, Message
from hilconsole.broadcast import broadcasts_flush
from hilconsole.celery import app as celery_app
from tests.conftest import seen_all
from tests.conversations.conftest import SHOP, Widget

pytestmark = pytest.mark.django_db


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


# Starting a conversation -------------------------------------------------------------------


def test_anonymous_customer_starts_a_new_conversation(widget, inbox):
    response = widget.start(name="Carla", email="carla@example.com")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "new" and len(body["customer_token"]) > 30
    assert body["inbox"] == {"name": "Shop", "greeting": "Hello from the shop", "csat_enabled": True}
    conversation = Conversation.objects.get(pk=body["conversation_id"])
    assert (conversation.customer.name, conversation.customer.email) == ("Carla", "carla@example.com")
    assert AuditEvent.objects.filter(action="conversation.created", target_id=str(conversation.pk)).exists()
    assert response["Access-Control-Allow-Origin"] == SHOP


def test_starting_needs_the_inbox_token(client, inbox):
    response = client.post("/api/widget/v1/conversations", "{}", content_type="application/json")

    assert error_of(response) == (401, "not_authenticated")


def test_an_unknown_inbox_token_is_refused(widget, inbox):
    inbox.widget_token = "changed-since"
    assert error_of(widget.start()) == (401, "unknown_inbox_token")


def test_a_site_the_inbox_does_not_allow_is_refused(client, inbox):
    response = Widget(client, inbox, origin="https://evil.example").start()

    assert error_of(response) == (403, "origin_not_allowed")
    assert not Customer.objects.exists()


def test_a_site_allowed_by_another_inbox_is_refused_here(client, inbox):
    from conversations.models import Inbox

    Inbox.objects.create(name="Other", allowed_origins=["https://other.example"])

    assert error_of(Widget(client, inbox, origin="https://other.example").start()) == (403, "origin_not_allowed")


def test_the_consoles_own_pages_may_use_any_inbox(client, inbox):
    assert Widget(client, inbox, origin="http://testserver").start().status_code == 201


def test_cors_preflight_is_answered_only_for_allowed_origins(client, inbox):
    def preflight(origin):
        return client.options(
            "/api/widget/v1/conversations",
            HTTP_ORIGIN=origin,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-inbox-token",
        )

    allowed = preflight(SHOP)
    assert allowed["Access-Control-Allow-Origin"] == SHOP
    assert "x-inbox-token" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in preflight("https://evil.example")


def test_verified_customer_resumes_their_open_conversation(client, inbox):
    signature = inbox.identifier_hash("user-42")
    first = Widget(client, inbox)
    first.start(identifier="user-42", identifier_hash=signature)

    again = Widget(client, inbox)
    response = again.start(identifier="user-42", identifier_hash=signature.upper(), name="Dana")

    assert response.status_code == 200
    assert again.conversation_id == first.conversation_id and again.token != first.token
    assert first.history().status_code == 200 and again.history().status_code == 200
    assert Customer.objects.get(identifier="user-42").name == "Dana"


def test_verified_customer_with_only_closed_conversations_gets_a_new_one(client, inbox):
    signature = inbox.identifier_hash("user-42")
    first = Widget(client, inbox)
    first.start(identifier="user-42", identifier_hash=signature)
    Conversation.objects.filter(pk=first.conversation_id).update(status="resolved")

    second = Widget(client, inbox)

    assert second.start(identifier="user-42", identifier_hash=signature).status_code == 201
    assert second.conversation_id != first.conversation_id


def test_a_forged_identifier_hash_is_refused(widget, inbox):
    forged = inbox.identifier_hash("user-41")

    assert error_of(widget.start(identifier="user-42", identifier_hash=forged)) == (401, "identity_unverified")
    assert not Customer.objects.exists()


@pytest.mark.parametrize("identifier_hash", ["é" * 64, "zz" * 32, "ab" * 65])
def test_an_identifier_hash_that_is_not_hex_is_a_400(widget, identifier_hash):
    response = widget.start(identifier="user-42", identifier_hash=identifier_hash)

    assert error_of(response) == (400, "invalid")
    assert "identifier_hash" in response.json()["error"]["message"]


def test_an_identifier_hash_without_identifier_is_refused(widget):
    assert error_of(widget.start(identifier_hash="ab" * 32)) == (401, "identity_unverified")


def test_an_inbox_that_requires_verification_refuses_unsigned_customers(widget, inbox):
    inbox.identity_verification_required = True
    inbox.save()

    assert error_of(widget.start(identifier="user-42")) == (401, "identity_unverified")
    assert error_of(widget.start()) == (401, "identity_unverified")
    assert widget.start(identifier="user-42", identifier_hash=inbox.identifier_hash("user-42")).status_code == 201


def test_an_unverified_identifier_never_opens_someone_elses_history(client, inbox):
    owner = Widget(client, inbox)
    owner.start(identifier="user-42", identifier_hash=inbox.identifier_hash("user-42"))
    impostor = Widget(client, inbox)

    assert impostor.start(identifier="user-42").status_code == 201
    assert impostor.conversation_id != owner.conversation_id
    assert error_of(impostor.history(conversation_id=owner.conversation_id)) == (403, "not_yours")


def test_a_malformed_customer_is_a_400_naming_the_field(widget):
    response = widget.start(email="not-an-email")

    assert error_of(response) == (400, "invalid")
    assert "customer.email" in response.json()["error"]["message"]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '{"customer": "Carla"}'])
def test_a_body_that_is_not_the_expected_object_is_a_400(client, inbox, body):
    response = client.post(
        "/api/widget/v1/conversations", body, content_type="application/json", HTTP_X_INBOX_TOKEN=inbox.widget_token
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("parse_error", "invalid")


def test_starting_refuses_other_methods(client, inbox):
    response = client.get("/api/widget/v1/conversations", HTTP_X_INBOX_TOKEN=inbox.widget_token)

    assert error_of(response) == (405, "method_not_allowed")


def test_an_unknown_api_path_is_a_json_404(client):
    assert error_of(client.get("/api/widget/v1/nothing-here")) == (404, "not_found")


# Messages ----------------------------------------------------------------------------------


def test_customer_message_is_stored_and_accepted(started):
    response = started.send("Where is my order?", client_message_id="c-1")

    assert response.status_code == 202
    body = response.json()
    assert body["sender"] == "customer" and body["content"] == "Where is my order?"
    assert body["author_name"] == "Carla" and body["client_message_id"] == "c-1"
    # No AI pipeline is installed yet: the conversation waits in "new".
    assert Conversation.objects.get(pk=started.conversation_id).status == "new"


def test_a_replayed_client_message_id_returns_the_same_message_once(started):
    first = started.send("Hello", client_message_id="c-1")
    replay = started.send("Hello", client_message_id="c-1")

    assert (first.status_code, replay.status_code) == (202, 200)
    assert replay.json()["id"] == first.json()["id"]
    assert Message.objects.filter(conversation_id=started.conversation_id).count() == 1


def statements_of(call) -> tuple[object, list[str]]:
    """What `call` returned, and its statements (the test's own savepoints left out)."""
    with CaptureQueriesContext(connection) as queries:
        result = call()
    return result, [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]


def test_a_post_locks_and_checks_in_one_statement_and_stores_in_one(started):
    customer = Customer.objects.get()
    post = functools.partial(
        services.message_post_from_customer, started.conversation_id, customer=customer,
        content="Where is my order?", client_message_id="c-1",
    )  # fmt: skip

    (message, created), statements = statements_of(post)
    (repeat, repeated), repeat_statements = statements_of(post)

    assert len(statements) == 2 and len(repeat_statements) == 1
    assert "FOR UPDATE" in statements[0] and repeat_statements == statements[:1]
    assert "'Where is my order?'" in statements[1]  # the query log shows the values
    stored = Message.objects.get()
    assert (created, repeated, message.pk, repeat.pk) == (True, False, stored.pk, stored.pk)
    assert (stored.content, stored.metadata, stored.client_message_id) == ("Where is my order?", {}, "c-1")
    assert stored.created_at == message.created_at == repeat.created_at
    assert Conversation.objects.get(pk=started.conversation_id).last_message_at == stored.created_at
    assert not message._state.adding and repeat.conversation.customer == customer


@pytest.mark.django_db(transaction=True)
def test_a_post_does_not_wait_for_the_broker_and_a_down_broker_leaves_the_turn_to_the_sweep(
    started, monkeypatch, caplog
):
    asked = []

    def broker_down(*args, **kwargs):
        asked.append((args, threading.current_thread().name))
        raise ConnectionError("the broker is down")

    monkeypatch.setattr(celery_app, "send_task", broker_down)

    response = started.send("Where is my order?")
    broadcasts_flush(5)

    assert response.status_code == 202 and Message.objects.get().content == "Where is my order?"
    [((name,), thread)] = asked  # sent once the post had committed, by the sending thread
    assert name == "agents.run_turn" and thread == "channel-layer-sender"
    assert "the broker is down" in caplog.text
    assert Conversation.objects.get().status == Conversation.Status.NEW  # what the stalled-turn sweep looks for


def test_content_over_the_limit_is_a_413_and_stores_nothing(started, settings):
    settings.WIDGET_MAX_MESSAGE_CHARS = 4000

    response = started.send("x" * 4001)

    assert error_of(response) == (413, "content_too_long")
    assert "at most 4000 characters" in response.json()["error"]["message"]
    assert not Message.objects.exists()
    assert started.send("x" * 4000, client_message_id="c-2").status_code == 202


@pytest.mark.parametrize(
    "body",
    [{"content": "   ", "client_message_id": "c-1"}, {"content": "Hi"}, {"content": "Hi", "client_message_id": ""}],
)
def test_an_empty_message_or_missing_client_id_is_a_400(started, body, client):
    response = client.post(
        f"/api/widget/v1/conversations/{started.conversation_id}/messages",
        json.dumps(body),
        content_type="application/json",
        **started.headers(),
    )

    assert error_of(response) == (400, "invalid")
    assert not Message.objects.exists()


def test_posting_needs_a_customer_token(started):
    started.token = None

    assert error_of(started.send("Hi")) == (401, "not_authenticated")


def test_an_unknown_customer_token_is_refused(started):
    started.token = "made-up"

    assert error_of(started.send("Hi")) == (401, "unknown_customer_token")


def test_a_customer_token_unused_for_too_long_is_refused(started, settings):
    settings.WIDGET_TOKEN_IDLE_DAYS = 30
    CustomerToken.objects.update(last_used_at=timezone.now() - timedelta(days=31))

    response = started.send("Hi")

    assert error_of(response) == (401, "unknown_customer_token")
    assert "expired" in response.json()["error"]["message"]


def test_a_token_in_use_stays_valid_and_its_use_is_recorded_once_a_day(started, settings):
    settings.WIDGET_TOKEN_IDLE_DAYS = 30
    a_while_ago = timezone.now() - timedelta(days=29)
    CustomerToken.objects.update(last_used_at=a_while_ago)

    assert started.send("Hi", "c-1").status_code == 202
    used = CustomerToken.objects.get().last_used_at
    assert used > timezone.now() - timedelta(minutes=1)
    assert started.send("Again", "c-2").status_code == 202
    assert CustomerToken.objects.get().last_used_at == used  # not a write per request


def test_a_token_names_its_customer_and_their_inbox_as_stored_in_one_read(started, inbox, django_assert_num_queries):
    customer = Customer.objects.get()
    inbox.allowed_origins = [SHOP, "https://other.example"]
    inbox.save()

    with django_assert_num_queries(1):
        found = services.customer_for_token(started.token)
        assert (found.pk, found.name, found.email) == (customer.pk, customer.name, customer.email)
        assert (found.inbox.pk, found.inbox.allowed_origins) == (inbox.pk, [SHOP, "https://other.example"])
    assert services.customer_for_token(started.token + "x") is None


def rotate(widget):
    return widget.client.post("/api/widget/v1/customer-token", **widget.headers())


def test_rotating_the_customer_token_gives_a_new_one_and_the_old_one_stops_working(started):
    old = started.token

    response = rotate(started)

    assert response.status_code == 201
    started.token = response.json()["customer_token"]
    assert started.token != old and started.send("Hi").status_code == 202
    started.token = old
    assert error_of(started.send("Again", "c-2")) == (401, "unknown_customer_token")
    assert error_of(rotate(started)) == (401, "unknown_customer_token")
    assert AuditEvent.objects.filter(action="customer_token.rotated").count() == 1


def test_rotating_needs_a_customer_token_and_a_post(started, client):
    assert error_of(client.post("/api/widget/v1/customer-token", HTTP_ORIGIN=SHOP)) == (401, "not_authenticated")
    assert client.get("/api/widget/v1/customer-token", **started.headers()).status_code == 405


def test_another_customers_token_is_forbidden(started, client, inbox):
    stranger = Widget(client, inbox)
    stranger.start()

    assert error_of(stranger.send("Hi", conversation_id=started.conversation_id)) == (403, "not_yours")
    assert error_of(stranger.history(conversation_id=started.conversation_id)) == (403, "not_yours")
    assert not Message.objects.exists()


def test_an_unknown_conversation_is_a_404(started):
    assert error_of(started.send("Hi", conversation_id=999999)) == (404, "not_found")


def test_a_customer_token_used_from_another_site_is_refused(started):
    started.origin = "https://evil.example"

    assert error_of(started.send("Hi")) == (403, "origin_not_allowed")


def test_history_lists_messages_after_an_id_without_internal_notes(started, support_agent):
    first = started.send("One", client_message_id="c-1").json()
    started.send("Two", client_message_id="c-2")
    conversation = Conversation.objects.get(pk=started.conversation_id)
    conversation.status, conversation.assignee = "human_active", support_agent
    conversation.save()
    services.message_post_from_human(conversation.pk, agent=support_agent, content="Secret note", internal=True)
    services.message_post_from_human(conversation.pk, agent=support_agent, content="Hi, Ana here")

    body = started.history(after=first["id"]).json()

    assert [m["content"] for m in body["messages"]] == ["Two", "Hi, Ana here"]
    assert body["messages"][1] | {"created_at": None} == {
        "id": body["messages"][1]["id"],
        "sender": "human",
        "author_name": "Ana",
        "content": "Hi, Ana here",
        "created_at": None,
        "client_message_id": None,
        "sources": [],
    }
    assert (body["status"], body["has_more"], body["csat_given"]) == ("human_active", False, False)


def test_history_comes_in_pages(started, settings):
    settings.WIDGET_RATE_LIMITS = {"per_customer": "1000/min", "per_ip": "1000/min"}
    for number in range(105):
        started.send(f"Message {number}", client_message_id=f"c-{number}")

    page = started.history().json()
    rest = started.history(after=page["messages"][-1]["id"]).json()

    assert (len(page["messages"]), page["has_more"]) == (100, True)
    assert (len(rest["messages"]), rest["has_more"]) == (5, False)


@pytest.mark.parametrize("after", ["yesterday", "²", "١٢", "-1", "1" * 30, ""])
def test_history_after_something_that_is_not_an_id_is_a_400(started, after):
    response = started.history(after=after)

    assert error_of(response) == (400, "invalid")
    assert "after" in response.json()["error"]["message"]


def test_writing_again_reopens_a_finished_conversation(started):
    Conversation.objects.filter(pk=started.conversation_id).update(status="finished")

    assert started.send("One more thing", client_message_id="c-9").status_code == 202

    conversation = Conversation.objects.get(pk=started.conversation_id)
    assert conversation.status == "new" and conversation.reopened_at is not None
    assert AuditEvent.objects.filter(action="conversation.reopened", target_id=str(conversation.pk)).exists()


# Rate limits -------------------------------------------------------------------------------


def test_a_customer_over_the_rate_limit_gets_429_with_retry_after(started, settings):
    # Hour-long windows: a window boundary cannot fall inside the test and reset the count.
    settings.WIDGET_RATE_LIMITS = {"per_customer": "3/hour", "per_ip": "100/hour"}

    statuses = [started.send("Hi", client_message_id=f"c-{n}").status_code for n in range(4)]
    limited = started.send("Hi", client_message_id="c-5")

    assert statuses == [202, 202, 202, 429]
    assert error_of(limited) == (429, "throttled")
    assert 0 < int(limited["Retry-After"]) <= 3600
    assert Message.objects.count() == 3


def test_an_ip_over_the_rate_limit_gets_429(widget, settings):
    settings.WIDGET_RATE_LIMITS = {"per_customer": "100/hour", "per_ip": "2/hour"}

    statuses = [widget.start().status_code for _ in range(3)]

    assert statuses == [201, 201, 429]
    assert Customer.objects.count() == 2


def test_a_message_counts_against_the_customer_and_the_ip_and_waits_for_the_longer(started, settings):
    settings.WIDGET_RATE_LIMITS = {"per_customer": "2/hour", "per_ip": "3/day"}

    statuses = [started.send("Hi", client_message_id=f"c-{n}").status_code for n in range(4)]
    limited = started.send("Hi", client_message_id="c-9")

    # The customer's third message is over their limit; it still counts against the IP, so the
    # fourth is over both, and the client is told to wait for the later of the two windows.
    assert statuses == [202, 202, 429, 429]
    day_left, hour_left = 86400 - time.time() % 86400, 3600 - time.time() % 3600
    assert abs(int(limited["Retry-After"]) - max(day_left, hour_left)) <= 2
    assert Message.objects.count() == 2


def test_rate_limits_of_one_ip_do_not_touch_another(client, inbox, settings):
    settings.WIDGET_RATE_LIMITS = {"per_customer": "100/hour", "per_ip": "1/hour"}
    Widget(client, inbox).start()

    other_ip = Client(REMOTE_ADDR="203.0.113.9")

    assert Widget(other_ip, inbox).start().status_code == 201


# Rating ------------------------------------------------------------------------------------


def resolve(conversation_id, agent):
    Conversation.objects.filter(pk=conversation_id).update(status="pending_human")
    services.conversation_human_join(conversation_id, agent=agent)
    services.conversation_resolve(conversation_id, agent=agent, seen_through=seen_all(conversation_id))


def test_customer_rates_a_resolved_conversation_once(started, support_agent):
    resolve(started.conversation_id, support_agent)

    response = started.rate({"rating": 5, "comment": "Quick and kind"})
    again = started.rate({"rating": 1})

    assert response.status_code == 201
    assert error_of(again) == (409, "csat_already_given")
    conversation = Conversation.objects.get(pk=started.conversation_id)
    assert (conversation.csat_rating, conversation.csat_comment) == (5, "Quick and kind")
    assert started.history().json()["csat_given"] is True


def test_rating_before_resolution_is_a_409(started):
    assert error_of(started.rate({"rating": 4})) == (409, "not_resolved")


def test_rating_where_the_inbox_does_not_ask_is_refused(started, support_agent, inbox):
    inbox.csat_enabled = False
    inbox.save()
    resolve(started.conversation_id, support_agent)

    assert error_of(started.rate({"rating": 4})) == (409, "csat_disabled")


@pytest.mark.parametrize("rating", [0, 6, "five", None])
def test_a_rating_outside_one_to_five_is_a_400(started, support_agent, rating):
    resolve(started.conversation_id, support_agent)

    assert error_of(started.rate({"rating": rating})) == (400, "invalid")
    assert Conversation.objects.get(pk=started.conversation_id).csat_rating is None


def test_a_form_encoded_body_is_refused_as_an_unsupported_media_type(started, client):
    response = client.post(
        f"/api/widget/v1/conversations/{started.conversation_id}/messages",
        {"content": "Hi", "client_message_id": "c-1"},
        **started.headers(),
    )

    assert error_of(response) == (415, "unsupported_media_type")
    assert not Message.objects.exists()


def test_concurrent_first_requests_share_one_throttle_client(monkeypatch):
    """A throttle client made twice by a burst of first requests was collected with its pool
    while a request still read from one of its sockets: a rare 500 at start."""
    import threading

    from conversations import api

    monkeypatch.setattr(api, "_throttle_redis", None)
    start, clients = threading.Barrier(16), []

    def first_request():
        start.wait()
        clients.append(api.throttle_redis())

    threads = [threading.Thread(target=first_request) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(clients) == 16 and len({id(client) for client in clients}) == 1
