"""Time the LLM gateway adds (LiteLLM Router + LLMCall recording) over a direct HTTP call.

Both hit the same local OpenAI-compatible server, in interleaved rounds so that drift of the
machine affects both alike. Target: at most 5 ms median added.

Runs on its own embedded services (var/bench) unless DATABASE_URL / REDIS_URL are set.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import httpx  # noqa: E402
import infra_floor  # noqa: E402  (sets up Django on the benchmark's services)
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from agents.llm import gateway  # noqa: E402
from agents.llm.keys import encrypt_api_key  # noqa: E402
from agents.models import Deployment, LLMCall, ModelProfile  # noqa: E402
from hilconsole import embedded  # noqa: E402
from tests.agents.openai_server import OpenAIServer  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "300"))
WARMUP = 20
TARGET_ADDED_MS = 5.0
MESSAGES = [{"role": "user", "content": "Where is my order 100234?"}]


def main() -> None:
    call_command("migrate", verbosity=0)
    with OpenAIServer() as server:
        profile, _ = ModelProfile.objects.get_or_create(name="bench-gateway")
        Deployment.objects.filter(profile=profile).delete()
        # A model in LiteLLM's price list, as real deployments are. (An unknown model name sends
        # LiteLLM down a slower price-lookup path on every call, about 2 ms more here.)
        Deployment.objects.create(
            profile=profile,
            model="openai/gpt-4o-mini",
            api_base=server.api_base,
            api_key_encrypted=encrypt_api_key("sk-bench"),
        )
        direct_client = httpx.Client(base_url=server.api_base, headers={"Authorization": "Bearer sk-bench"})

        def direct():
            direct_client.post(
                "/chat/completions", json={"model": "gpt-4o-mini", "messages": MESSAGES}
            ).raise_for_status()

        def through_gateway():
            gateway.complete(MESSAGES, profile=profile.name)

        for _ in range(WARMUP):
            direct(), through_gateway()
        direct_ms, gateway_ms = [], []
        for _ in range(ROUNDS):
            for operation, samples in ((direct, direct_ms), (through_gateway, gateway_ms)):
                started = time.perf_counter()
                operation()
                samples.append((time.perf_counter() - started) * 1000)
        LLMCall.objects.filter(profile=profile).delete()
    if settings.EMBEDDED_SERVICES is not None and not os.environ.get("BENCH_KEEP_SERVICES"):
        embedded.stop(settings.EMBEDDED_SERVICES)

    added = [g - d for g, d in zip(gateway_ms, direct_ms, strict=True)]
    print(f"llm_gateway: {ROUNDS} interleaved rounds after {WARMUP} warm-up, local OpenAI-compatible server,")
    print("  deployment openai/gpt-4o-mini (priced by LiteLLM), keep-alive connections on both paths")
    print(f"{'path':<34} {'median ms':>10} {'p95 ms':>10}")
    for label, samples in (("direct HTTP call (httpx)", direct_ms), ("gateway (Router + LLMCall row)", gateway_ms)):
        print(f"{label:<34} {statistics.median(samples):>10.3f} {infra_floor.p95(samples):>10.3f}")
    median_added = statistics.median(added)
    print(f"{'added by the gateway (per round)':<34} {median_added:>10.3f} {infra_floor.p95(added):>10.3f}")
    verdict = "met" if median_added <= TARGET_ADDED_MS else "missed"
    print(f"target: at most {TARGET_ADDED_MS:.0f} ms median added: {verdict} ({median_added:.2f} ms)")


if __name__ == "__main__":
    main()
