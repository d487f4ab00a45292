"""The JSON APIs against their own OpenAPI schema (drf-spectacular at /api/schema/): schemathesis
generates requests from it, valid ones and hostile ones, and sends them to the real ASGI server
with working credentials. No request gets a server error, and every answer is one the schema
documents."""

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import checks

from agents.demo_shop.services import demo_orders_ensure
from agents.workflows.defaults import workflows_ensure
from conversations.services import conversation_open, inbox_ensure

pytestmark = pytest.mark.django_db(transaction=True)
# Per operation and kind (valid, hostile): small, so that the whole run stays well under a minute.
EXAMPLES = 15
# No server error, and every answer as documented. Not whether the schema foresees every refusal:
# it cannot say that text may not contain a NUL character, which PostgreSQL cannot store; and
# not whether invalid data is refused: the credentials are added to every request, and unknown
# query parameters are ignored, as is usual.
CHECKS = [
    checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
    checks.response_schema_conformance,
]  # fmt: skip


@pytest.fixture
def credentials(site_admin):
    """What a widget, the demo tools and an admin would send, so that every operation is reached."""
    demo_orders_ensure()
    inbox, _ = inbox_ensure(name="Shop", allowed_origins=[], greeting="Hi")
    workflows_ensure(inbox)  # documents and applications may be submitted
    conversation, token, _ = conversation_open(inbox, name="Cleo")
    admin = Client()
    admin.force_login(site_admin)
    return {
        "conversation_id": conversation.pk,
        "customer_token": token,
        # The approvals API takes the admin's API token (no CSRF token needed, unlike the session).
        "api_token": Token.objects.create(user=site_admin).key,
        "headers": {"X-Inbox-Token": inbox.widget_token, "X-Demo-Shop-Key": django_settings.DEMO_SHOP_API_KEY},
        "cookies": {"sessionid": admin.cookies["sessionid"].value},
    }


def exercise(operation, credentials) -> None:
    """Hypothesis runs of one operation; raises on the first answer that fails a check."""
    valid_or_hostile = st.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )

    @given(case=valid_or_hostile)
    @settings(
        max_examples=2 * EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    def send(case):
        (case.query or {}).pop("delay", None)  # the shop's simulated slowness would only make the run slow
        if "conversation_id" in (case.path_parameters or {}):
            case.path_parameters["conversation_id"] = credentials["conversation_id"]
        if case.path.startswith(
            ("/api/v1/review-tasks", "/api/v1/approvals", "/api/v1/analyses", "/api/v1/applications")
        ):
            authorization = f"Token {credentials['api_token']}"
        else:
            authorization = f"Bearer {credentials['customer_token']}"
        headers = credentials["headers"] | {"Authorization": authorization}
        response = case.call_and_validate(headers=headers, cookies=credentials["cookies"], timeout=15, checks=CHECKS)
        if response.status_code == 201 and "customer_token" in (response.json() or {}):
            credentials["customer_token"] = response.json()["customer_token"]  # rotated: the old one is gone

    send()


def test_no_api_operation_answers_with_a_server_error_or_outside_its_schema(live_server_url, credentials):
    schema = schemathesis.openapi.from_url(f"{live_server_url}/api/schema/")
    operations = [result.ok() for result in schema.get_all_operations()]
    failures = {}

    for operation in operations:
        try:
            exercise(operation, credentials)
        except (Exception, BaseExceptionGroup) as failure:  # every operation is tried; all are reported together
            failures[operation.label] = failure

    assert len(operations) >= 16
    assert failures == {}, "\n\n".join(f"{label}: {failure}" for label, failure in failures.items())


@pytest.mark.django_db
def test_the_schema_documents_every_api_and_its_credentials(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    assert {"/api/widget/v1/conversations", "/api/v1/runs/{run_id}/trace", "/demo-shop/api/orders"} <= set(
        schema["paths"]
    )
    schemes = set(schema["components"]["securitySchemes"])
    assert schemes == {"inboxToken", "customerToken", "demoShopKey", "cookieAuth", "tokenAuth"}
    started = schema["paths"]["/api/widget/v1/conversations"]["post"]["responses"]
    assert {"201", "200", "400", "401", "403", "413", "429"} <= set(started)


@pytest.mark.django_db
def test_the_docs_page_serves_swagger_ui_from_the_console_itself(client):
    page = client.get("/api/docs/").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn." not in page and "/api/schema/" in page
