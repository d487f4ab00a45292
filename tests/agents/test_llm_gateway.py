"""The LLM gateway through LiteLLM's real HTTP path, against a local OpenAI-compatible server."""

import time
from decimal import Decimal

import pytest
from django.conf import settings

from agents.llm import gateway
from agents.llm.keys import api_key_of, encrypt_api_key, without_credentials
from agents.models import Deployment, LLMCall, ModelProfile
from tests.agents.openai_server import OpenAIServer

pytestmark = pytest.mark.django_db

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def openai_server():
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def profile_of(openai_server, settings):
    settings.LLM_RETRIES = 1
    settings.LLM_ALLOWED_FAILS = 5

    def make(*models, timeout=10.0, **deployment_fields):
        profile = ModelProfile.objects.create(name=f"test-{'-'.join(models)}-{time.monotonic_ns()}")
        for position, model in enumerate(models):
            Deployment.objects.create(
                profile=profile,
                position=position,
                model=f"openai/{model}",
                api_base=openai_server.api_base,
                api_key_encrypted=encrypt_api_key("sk-test-secret"),
                timeout_seconds=timeout,
                **deployment_fields,
            )
        return profile.name

    return make


def test_a_completion_is_answered_and_recorded_with_tokens_and_cost(profile_of, openai_server):
    profile = profile_of("ok", input_price_per_1k=Decimal("0.5"), output_price_per_1k=Decimal("1.5"))

    completion = gateway.complete(HELLO, profile=profile, links=gateway.Links(run_id=7, step_id=3))

    assert completion.content == "Hello from ok"
    call = LLMCall.objects.get(pk=completion.llm_call_id)
    assert (call.outcome, call.deployment_model, call.fallbacks) == ("ok", "openai/ok", [])
    assert (call.prompt_tokens, call.completion_tokens, call.run_id, call.step_id) == (120, 30, 7, 3)
    assert call.cost_usd == Decimal("0.10500000")  # 120 × 0.0005 + 30 × 0.0015
    assert call.latency_ms > 0
    assert openai_server.authorization == ["Bearer sk-test-secret"]


def test_a_tool_call_comes_back_parsed(profile_of):
    completion = gateway.complete(HELLO, profile=profile_of("tool"), tools=[_order_tool()])

    assert completion.tool_calls == [
        {"id": "call_1", "name": "get_order_status", "arguments": {"order_number": "100234"}}
    ]


def test_a_429_is_retried_after_the_time_the_provider_asked_for(profile_of, openai_server):
    started = time.monotonic()

    completion = gateway.complete(HELLO, profile=profile_of("limited"))

    assert completion.content == "Hello from limited"
    assert openai_server.requests["limited"] == 2
    assert time.monotonic() - started >= 0.9  # Retry-After: 1
    assert LLMCall.objects.get().outcome == "ok"


def test_a_failing_deployment_falls_back_to_the_next(profile_of, openai_server):
    completion = gateway.complete(HELLO, profile=profile_of("broken", "ok"))

    assert completion.content == "Hello from ok"
    call = LLMCall.objects.get()
    assert (call.deployment_model, call.fallbacks) == ("openai/ok", ["openai/broken"])
    assert openai_server.requests["broken"] >= 1


def test_a_timeout_on_every_deployment_raises_one_typed_error_and_is_recorded(profile_of):
    profile = profile_of("slow", timeout=0.5)

    with pytest.raises(gateway.LLMUnavailable) as unavailable:
        gateway.complete(HELLO, profile=profile)

    call = LLMCall.objects.get(pk=unavailable.value.llm_call_id)
    assert call.outcome == "error"
    assert "Timeout" in call.error or "timed out" in call.error.lower()


def test_a_profile_without_deployments_is_unavailable_not_a_crash():
    ModelProfile.objects.create(name="empty")

    with pytest.raises(gateway.LLMUnavailable, match="no enabled deployment"):
        gateway.complete(HELLO, profile="empty")


def test_a_key_from_the_environment_is_sent(profile_of, openai_server, monkeypatch):
    monkeypatch.setenv("LLM_KEY_TEST_PROVIDER", "sk-from-env")
    profile = profile_of("ok")
    Deployment.objects.filter(profile__name=profile).update(api_key_env="LLM_KEY_TEST_PROVIDER", api_key_encrypted="")

    gateway.complete(HELLO, profile=profile)

    assert openai_server.authorization == ["Bearer sk-from-env"]


def test_a_variable_not_named_llm_key_is_never_read_even_when_stored_around_the_admin(profile_of, openai_server):
    profile = profile_of("ok")
    Deployment.objects.filter(profile__name=profile).update(api_key_env="SECRET_KEY", api_key_encrypted="")

    assert api_key_of(Deployment.objects.get(profile__name=profile)) is None
    with pytest.raises(gateway.LLMUnavailable):  # no key at all: the provider refuses
        gateway.complete(HELLO, profile=profile)
    assert all(settings.SECRET_KEY not in sent for sent in openai_server.authorization)


def test_a_providers_error_is_stored_short_and_without_the_key(profile_of):
    profile = profile_of("leaky")

    with pytest.raises(gateway.LLMUnavailable) as unavailable:
        gateway.complete(HELLO, profile=profile)

    error = LLMCall.objects.get(pk=unavailable.value.llm_call_id).error
    assert "Incorrect API key provided" in error
    assert "sk-test-secret" not in error and len(error) <= 500


def test_a_changed_profile_is_used_once_the_refresh_interval_passed(profile_of, settings):
    settings.LLM_PROFILE_REFRESH_SECONDS = 0.2
    profile = profile_of("ok")
    gateway.complete(HELLO, profile=profile)
    Deployment.objects.filter(profile__name=profile).update(model="openai/tool")

    time.sleep(0.3)

    assert gateway.complete(HELLO, profile=profile).tool_calls[0]["name"] == "get_order_status"


# The embedded local model, through the same gateway ---------------------------------------


def test_default_profiles_answer_offline_with_the_local_model():
    for profile in ("fast", "balanced", "powerful"):
        completion = gateway.complete(HELLO, profile=profile)
        assert completion.content and completion.model == "local/hil-small"
        assert completion.prompt_tokens > 0 and completion.completion_tokens > 0


def test_the_local_model_is_free_unless_an_admin_prices_it():
    free = gateway.complete(HELLO, profile="fast")
    [deployment] = gateway.router_for("fast").router.model_list
    # Told to LiteLLM once with the deployment, so it does not look for a price it failed to apply.
    assert deployment["model_info"] | gateway.FREE == deployment["model_info"]
    profile = ModelProfile.objects.create(name="priced-local")
    Deployment.objects.create(profile=profile, model="local/hil-small", input_price_per_1k=Decimal("1"))

    priced = gateway.complete(HELLO, profile="priced-local")

    assert LLMCall.objects.get(pk=free.llm_call_id).cost_usd == 0
    assert priced.cost_usd == Decimal(priced.prompt_tokens) / 1000
    assert LLMCall.objects.get(pk=priced.llm_call_id).cost_usd == priced.cost_usd


def _order_tool():
    return {
        "type": "function",
        "function": {
            "name": "get_order_status",
            "description": "Look up the status of an order by its number",
            "parameters": {
                "type": "object",
                "properties": {"order_number": {"type": "string"}},
                "required": ["order_number"],
            },
        },
    }


def test_a_deployment_that_keeps_failing_is_cooled_down_and_skipped(profile_of, openai_server, settings):
    settings.LLM_ALLOWED_FAILS = 1
    profile = profile_of("broken", "ok")
    for _ in range(3):
        gateway.complete(HELLO, profile=profile)
    tried_while_failing = openai_server.requests["broken"]

    for _ in range(3):
        assert gateway.complete(HELLO, profile=profile).content == "Hello from ok"

    assert openai_server.requests["broken"] == tried_while_failing  # cooled down: not asked again


def test_a_profile_saved_many_times_still_cools_down_its_failing_deployment(profile_of, openai_server, settings):
    settings.LLM_ALLOWED_FAILS = 1
    profile = profile_of("broken", "ok")
    for _ in range(120):  # each save in the admin builds the profile's Router anew on its next use
        gateway.forget_profile(profile)
        gateway.router_for(profile)
    for _ in range(3):
        gateway.complete(HELLO, profile=profile)
    tried_while_failing = openai_server.requests["broken"]

    for _ in range(3):
        assert gateway.complete(HELLO, profile=profile).content == "Hello from ok"

    assert openai_server.requests["broken"] == tried_while_failing


@pytest.mark.django_db(transaction=True)
def test_the_gateway_answers_inside_a_celery_worker_process(live_worker):
    from hilconsole.celery import app as celery_app

    # Its own profile: transactional tests empty every table, the migration's profiles too.
    profile = ModelProfile.objects.create(name="worker-local")
    Deployment.objects.create(profile=profile, model="local/hil-small")

    results = [celery_app.send_task("tests.gateway_answer", args=[profile.name]).get(timeout=60) for _ in range(2)]

    assert all(result["model"] == "local/hil-small" and result["content"] for result in results)
    assert LLMCall.objects.filter(pk__in=[result["llm_call_id"] for result in results]).count() == 2


def test_anything_shaped_like_a_credential_is_taken_out_of_a_providers_error():
    said = (
        'Bad request: Authorization: Bearer abc.def-123456 with api_key="sk-proj-ABCDEF123456", '
        "x-api-key: 12345678abc and key=AIzaSyA1234567890abcdefghij. Model gpt-4o not found."
    )

    assert without_credentials(said) == (
        'Bad request: Authorization: Bearer [key] with api_key="[key]", '
        "x-api-key: [key] and key=[key] Model gpt-4o not found."
    )
