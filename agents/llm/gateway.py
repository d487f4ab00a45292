"""The LLM gateway: the only code that calls LiteLLM.

Each model profile (`fast`, `balanced`, `powerful`) becomes a LiteLLM `Router` whose
deployments are tried in order: the Router retries with backoff (honouring Retry-After),
falls back to the next deployment, and cools a failing deployment down. Every call is
recorded as an `LLMCall` with tokens, cost, latency and outcome. When every deployment fails,
`LLMUnavailable` is raised for the caller to turn into a handover. Budgets (agents.llm.budgets)
hold each call's estimated cost before it and are charged its real cost after it; a call over
budget is refused with `BudgetExceeded`, a kind of `LLMUnavailable`.
"""

import asyncio
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

# LiteLLM would fetch its price list from the internet at import; it ships a copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402
from litellm import Router  # noqa: E402

from agents.llm import budgets, keys, prompts  # noqa: E402
from agents.llm.budgets import BudgetExceeded  # noqa: E402, F401
from agents.llm.errors import LLMUnavailable  # noqa: E402
from agents.llm.local.provider import LocalModel  # noqa: E402
from agents.models import Deployment, LLMCall  # noqa: E402
from hilconsole.prepared import insert_row  # noqa: E402

LOCAL_PREFIX = "local/"
litellm.custom_provider_map = [{"provider": "local", "custom_handler": LocalModel()}]
litellm.suppress_debug_info = True
litellm.telemetry = False


@dataclass
class Completion:
    content: str | None
    tool_calls: list[dict] = field(default_factory=list)  # {"id", "name", "arguments": dict}
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    latency_ms: float = 0
    fallbacks: list[str] = field(default_factory=list)
    llm_call_id: int | None = None


@dataclass
class Links:
    """What a call is for, recorded on its LLMCall."""

    conversation_id: int | None = None
    run_id: int | None = None
    step_id: int | None = None
    agent_id: int | None = None


def complete(
    messages: list[dict],
    *,
    profile: str = "balanced",
    tools: list[dict] | None = None,
    json_response: bool = False,
    links: Links | None = None,
    purpose: str = "completion",
) -> Completion:
    """One chat completion through the profile's deployments; recorded whatever happens."""
    links = links or Links()
    held = _hold(profile, messages, links, purpose)
    route = router_for(held.profile)
    # With tools, LiteLLM would look for MCP servers (a proxy feature needing the `mcp` package).
    params = {"tools": tools, "_skip_mcp_handler": True} if tools else {}
    if json_response:
        params["response_format"] = {"type": "json_object"}
    started = time.perf_counter()
    try:
        response = _on_gateway_loop(route.router.acompletion(model=route.names[0], messages=messages, **params))
    except Exception as error:
        budgets.charge(held, Decimal(0))
        latency = (time.perf_counter() - started) * 1000
        call = _record(route, purpose, links, latency, error=error, tried=route.models)
        raise LLMUnavailable(
            f"Every deployment of profile {route.name!r} failed: {error}", llm_call_id=call.pk
        ) from error
    completion = _completion(response, route, (time.perf_counter() - started) * 1000)
    completion.llm_call_id = _record(route, purpose, links, completion.latency_ms, completion=completion).pk
    budgets.charge(held, completion.cost_usd)
    return completion


def _hold(profile: str, messages: list[dict], links: Links, purpose: str) -> budgets.Hold:
    """The budgets' hold on this call, or a refusal recorded like any failed call."""
    try:
        return budgets.hold(
            profile,
            conversation_id=links.conversation_id,
            agent_id=links.agent_id,
            estimate=lambda name: estimate_cost(name, messages),
        )
    except BudgetExceeded as refusal:
        route = router_for(profile)
        refusal.llm_call_id = _record(route, purpose, links, 0, error=refusal, outcome=LLMCall.Outcome.REFUSED).pk
        raise


def estimate_cost(profile: str, messages: list[dict]) -> tuple[Decimal, int]:
    """(USD, prompt tokens) a call is expected to cost: its prompt's tokens and an expected
    completion (LLM_BUDGET_COMPLETION_TOKENS) at the dearest deployment of the profile, since
    any of them may answer."""
    route = router_for(profile)
    prompt_tokens = litellm.token_counter(model=route.models[0], messages=messages)
    completion_tokens = settings.LLM_BUDGET_COMPLETION_TOKENS
    dearest = Decimal(0)
    for model, (input_price, output_price) in zip(route.models, route.prices, strict=True):
        if model.startswith(LOCAL_PREFIX):
            continue
        listed = litellm.model_cost.get(model.split("/", 1)[-1], {})
        per_input = (
            input_price / 1000 if input_price is not None else Decimal(str(listed.get("input_cost_per_token", 0)))
        )
        per_output = (
            output_price / 1000 if output_price is not None else Decimal(str(listed.get("output_cost_per_token", 0)))
        )
        dearest = max(dearest, per_input * prompt_tokens + per_output * completion_tokens)
    return dearest, prompt_tokens


# One event loop per process -----------------------------------------------------------------

_loop: tuple[int, asyncio.AbstractEventLoop] | None = None
_loop_lock = threading.Lock()


def _on_gateway_loop(coroutine):
    """Run a LiteLLM coroutine on this process's gateway loop and wait for its result.

    LiteLLM's sync API starts a fresh event loop per call, and with it fresh HTTP connections;
    one long-lived loop keeps connections to providers open between calls. The loop belongs
    to the process that started it (pid check), so forked Celery workers start their own.
    """
    global _loop
    with _loop_lock:
        if _loop is None or _loop[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="llm-gateway-loop", daemon=True).start()
            _loop = (os.getpid(), loop)
    return asyncio.run_coroutine_threadsafe(coroutine, _loop[1]).result()


# Routers -----------------------------------------------------------------------------------


@dataclass
class _ProfileRouter:
    fingerprint: str
    router: Router
    names: list[str]  # the Router's names of the deployments, in fallback order
    models: list[str]  # their LiteLLM model strings, in the same order
    profile_id: int
    checked_at: float
    name: str = ""
    prices: list[tuple[Decimal | None, Decimal | None]] = field(default_factory=list)  # per 1k tokens, in and out


_routers: dict[str, _ProfileRouter] = {}
_routers_pid = os.getpid()
_routers_lock = threading.Lock()


def router_for(profile_name: str) -> _ProfileRouter:
    """The profile's Router, rebuilt when an admin changed the profile.

    The Router keeps the cooldowns of failing deployments, so it lives as long as the profile
    is unchanged. Profiles are re-read at most every LLM_PROFILE_REFRESH_SECONDS: an admin's
    change reaches every worker within that time without a query on every call.
    """
    global _routers_pid
    if _routers_pid != os.getpid():
        # A forked worker must not reuse its parent's Routers: their HTTP clients belong to the
        # parent's event loop.
        for inherited in _routers.values():
            _discard(inherited)
        _routers.clear()
        _routers_pid = os.getpid()
    cached = _routers.get(profile_name)
    if cached and time.monotonic() - cached.checked_at < settings.LLM_PROFILE_REFRESH_SECONDS:
        return cached
    deployments = list(Deployment.objects.filter(profile__name=profile_name, enabled=True).order_by("position", "id"))
    if not deployments:
        raise LLMUnavailable(f"Model profile {profile_name!r} has no enabled deployment.")
    fingerprint = _fingerprint(deployments)
    with _routers_lock:
        cached = _routers.get(profile_name)
        if cached is None or cached.fingerprint != fingerprint:
            if cached is not None:
                _discard(cached)
            router, names = _build_router(profile_name, deployments)
            cached = _ProfileRouter(
                fingerprint, router, names, [d.model for d in deployments], deployments[0].profile_id, 0.0,
                profile_name, [(d.input_price_per_1k, d.output_price_per_1k) for d in deployments],
            )  # fmt: skip
            _routers[profile_name] = cached
        cached.checked_at = time.monotonic()
    return cached


def forget_profile(profile_name: str | None = None) -> None:
    """Re-read the profile on its next use in this process (the admin calls this on save).
    With None, every profile and the intent examples."""
    global _examples
    if profile_name is None:
        for cached in _routers.values():
            _discard(cached)
        _routers.clear()
        _examples = None
    elif (cached := _routers.pop(profile_name, None)) is not None:
        _discard(cached)


def _discard(cached: "_ProfileRouter") -> None:
    # Each Router registers its cooldown callbacks in LiteLLM's global lists, which refuse
    # new ones past a hundred: a replaced Router must take its own away, or after enough
    # profile edits a new Router would run without cooldowns.
    cached.router.discard()


_examples: tuple[float, list[tuple[str, str]]] | None = None


def intent_examples() -> list[tuple[str, str]]:
    """The labelled (intent, text) examples, re-read like the profiles: an admin's edit reaches
    every worker within LLM_PROFILE_REFRESH_SECONDS, without a query on every classification."""
    global _examples
    from agents.models import IntentExample

    if _examples is None or time.monotonic() - _examples[0] >= settings.LLM_PROFILE_REFRESH_SECONDS:
        _examples = (time.monotonic(), list(IntentExample.objects.values_list("intent", "text")))
    return _examples[1]


def _fingerprint(deployments: list[Deployment]) -> str:
    rows = [
        (d.pk, d.model, d.api_base, d.api_key_env, d.api_key_encrypted, str(d.input_price_per_1k),
         str(d.output_price_per_1k), d.timeout_seconds)
        for d in deployments
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def _build_router(profile_name: str, deployments: list[Deployment]) -> tuple[Router, list[str]]:
    names = [f"{profile_name}#{index}" for index in range(len(deployments))]
    model_list = [
        {"model_name": name, "litellm_params": _litellm_params(deployment), "model_info": _model_info(deployment)}
        for name, deployment in zip(names, deployments, strict=True)
    ]
    router = Router(
        model_list=model_list,
        fallbacks=[{names[0]: names[1:]}] if len(names) > 1 else [],
        num_retries=settings.LLM_RETRIES,
        retry_after=0,
        allowed_fails=settings.LLM_ALLOWED_FAILS,
        cooldown_time=settings.LLM_COOLDOWN_SECONDS,
    )
    return router, names


# What the local model costs, told to LiteLLM: otherwise, after every call that cost $0, it
# searches the model's price entry for a rate it failed to apply (twice a call, about a fifth of
# its own work on a call). Told once, as the deployment's model_info: prices given per call
# (litellm_params) are registered again on every call.
FREE = {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "cache_creation_input_token_cost": 0.0,
        "cache_read_input_token_cost": 0.0}  # fmt: skip


def _model_info(deployment: Deployment) -> dict:
    info = {"id": str(deployment.pk)}
    priced = deployment.input_price_per_1k is not None or deployment.output_price_per_1k is not None
    if deployment.model.startswith(LOCAL_PREFIX) and not priced:
        info |= FREE
    return info


def _litellm_params(deployment: Deployment) -> dict:
    params = {"model": deployment.model, "timeout": deployment.timeout_seconds}
    if deployment.api_base:
        params["api_base"] = deployment.api_base
    api_key = keys.api_key_of(deployment)
    if api_key:
        params["api_key"] = api_key
    if deployment.input_price_per_1k is not None:
        params["input_cost_per_token"] = float(deployment.input_price_per_1k) / 1000
    if deployment.output_price_per_1k is not None:
        params["output_cost_per_token"] = float(deployment.output_price_per_1k) / 1000
    return params


# Results and records -----------------------------------------------------------------------


def _completion(response, route: _ProfileRouter, latency_ms: float) -> Completion:
    message = response.choices[0].message
    hidden = getattr(response, "_hidden_params", {}) or {}
    usage = getattr(response, "usage", None)
    answered, fallbacks = _fallbacks_taken(hidden, route)
    return Completion(
        content=message.content,
        tool_calls=[
            {"id": call.id, "name": call.function.name, "arguments": json.loads(call.function.arguments or "{}")}
            for call in (message.tool_calls or [])
        ],
        model=answered or response.model or "",
        prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        cost_usd=Decimal(str(hidden.get("response_cost") or 0)),
        latency_ms=latency_ms,
        fallbacks=fallbacks,
    )


def _fallbacks_taken(hidden: dict, route: _ProfileRouter) -> tuple[str, list[str]]:
    """(the deployment that answered, the deployments that failed before it)."""
    ids = [deployment["model_info"]["id"] for deployment in route.router.model_list]
    answered = str((hidden.get("model_info") or {}).get("id") or hidden.get("model_id") or "")
    if answered not in ids:
        return "", []
    position = ids.index(answered)
    return route.models[position], route.models[:position]


ERROR_KEPT_CHARS = 500


def _record(route, purpose, links, latency_ms, *, completion=None, error=None, tried=(), outcome=None):
    links = links or Links()
    fields = {
        "profile_id": route.profile_id,
        "purpose": purpose,
        "latency_ms": latency_ms,
        "conversation_id": links.conversation_id,
        "agent_id": links.agent_id,
        "run_id": links.run_id,
        "step_id": links.step_id,
    }
    # Prepared inserts: a turn records two calls.
    if completion is not None:
        call = LLMCall(
            **fields,
            outcome=LLMCall.Outcome.OK,
            deployment_model=completion.model,
            fallbacks=completion.fallbacks,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            cost_usd=completion.cost_usd,
        )
        return insert_row(call)
    # Provider error bodies may quote the key that was sent: stored without it, and short.
    in_use = [deployment["litellm_params"].get("api_key") for deployment in route.router.model_list]
    error_text = keys.without_credentials(f"{type(error).__name__}: {error}", in_use)[:ERROR_KEPT_CHARS]
    return insert_row(
        LLMCall(**fields, outcome=outcome or LLMCall.Outcome.ERROR, fallbacks=list(tried), error=error_text)
    )


# What the pipelines ask for ----------------------------------------------------------------


@dataclass
class Classification:
    intent: str
    confidence: float
    completion: Completion


def classify_intent(
    text: str, *, profile: str = "fast", links: Links | None = None, passages: list = ()
) -> Classification:
    """The intent and its confidence, given what the help articles say about it (`passages`, as
    for `answer`). An answer that is not the JSON asked for counts as unknown, 0."""
    completion = complete(
        prompts.classify_messages(text, intent_examples(), passages),
        profile=profile,
        json_response=True,
        links=links,
        purpose="classify",
    )
    try:
        verdict = json.loads(completion.content or "")
        intent, confidence = str(verdict["intent"]), max(0.0, min(1.0, float(verdict["confidence"])))
    except (ValueError, KeyError, TypeError):
        intent, confidence = "unknown", 0.0
    return Classification(intent, confidence, completion)


def answer(
    question: str,
    passages: list,
    *,
    profile: str = "balanced",
    history=None,
    tools=None,
    links=None,
    instructions: str = "",
    json_response: bool = False,
):
    messages = prompts.answer_messages(question, passages, history, instructions)
    return complete(messages, profile=profile, tools=tools, links=links, purpose="answer", json_response=json_response)


def summarize(
    transcript: list[tuple[str, str]], *, profile: str = "powerful", links: Links | None = None
) -> Completion:
    return complete(prompts.summarize_messages(transcript), profile=profile, links=links, purpose="summarize")


def profile_is_local(profile_name: str) -> bool:
    """Whether every deployment of the profile runs on this machine (nothing leaves it)."""
    return all(model.startswith(LOCAL_PREFIX) for model in router_for(profile_name).models)
