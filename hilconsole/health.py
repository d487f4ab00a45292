"""Liveness (`/healthz`) and readiness (`/readyz`) probes.

Readiness checks each real dependency with a short timeout: the database, the pgvector
extension in it, Redis, a Celery worker, and a round trip through the Channels layer.
"""

import asyncio
import time
import uuid

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from hilconsole.celery import app as celery_app
from hilconsole.redaction import redact_connection_secrets

CELERY_LAST_PONG_KEY = "hil:readyz:celery-last-pong"


class NotReady(Exception):
    pass


def _redis_client() -> redis.Redis:
    timeout = settings.READYZ_TIMEOUT_SECONDS
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_pgvector() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        if cursor.fetchone() is None:
            raise NotReady("the vector extension is not installed (run migrate)")
        # The operator a similarity search uses: cosine distance of orthogonal vectors is 1.
        cursor.execute("SELECT '[1,0]'::vector <=> '[0,1]'::vector")
        if cursor.fetchone()[0] != 1.0:
            raise NotReady("cosine distance gave a wrong result")


def check_redis() -> None:
    with _redis_client() as client:
        client.ping()


def check_celery() -> None:
    """Ready when a worker answered a ping within the last READYZ_CELERY_WINDOW_SECONDS.

    The last answer is remembered in Redis so that frequent probes from several web
    processes do not each broadcast a ping to every worker.
    """
    window = settings.READYZ_CELERY_WINDOW_SECONDS
    with _redis_client() as client:
        last_pong = client.get(CELERY_LAST_PONG_KEY)
        if last_pong is not None and time.time() - float(last_pong) <= window:
            return
        # A fresh broker connection, so a pooled one left dead by a Redis restart cannot
        # report a false "not ready"; limit=1 returns on the first answer.
        with celery_app.connection_for_write() as broker:
            replies = celery_app.control.ping(timeout=settings.READYZ_TIMEOUT_SECONDS, limit=1, connection=broker)
        if not replies:
            raise NotReady(f"no worker answered a ping within {settings.READYZ_TIMEOUT_SECONDS}s")
        if window > 0:
            client.set(CELERY_LAST_PONG_KEY, time.time(), ex=window)


async def _channel_layer_round_trip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("readyz.")
    nonce = uuid.uuid4().hex
    await layer.send(channel, {"type": "readyz.ping", "nonce": nonce})
    message = await asyncio.wait_for(layer.receive(channel), settings.READYZ_TIMEOUT_SECONDS)
    if message.get("nonce") != nonce:
        raise NotReady("the channel layer returned another message")


def check_channel_layer() -> None:
    async_to_sync(_channel_layer_round_trip)()


CHECKS = {
    "database": (check_database, ()),
    "pgvector": (check_pgvector, ("database",)),
    "redis": (check_redis, ()),
    "celery": (check_celery, ("redis",)),
    "channel_layer": (check_channel_layer, ("redis",)),
}


def run_checks() -> dict[str, dict]:
    results = {}
    for name, (check, needs) in CHECKS.items():
        failed = [need for need in needs if results[need]["status"] != "ok"]
        if failed:
            results[name] = {"status": "error", "error": f"{', '.join(failed)} not ready"}
            continue
        started = time.perf_counter()
        try:
            check()
        except Exception as error:  # any failure of a dependency means "not ready", never a 500
            results[name] = {"status": "error", "error": _describe(error)}
            if name == "database":
                connection.close()  # reconnect on the next probe instead of reusing a dead socket
        else:
            results[name] = {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    return results


def _describe(error: Exception) -> str:
    # The probe is public: a driver's message that quotes a service URL must not leak it.
    text = redact_connection_secrets(str(error)).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


@require_GET
@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request):
    checks = run_checks()
    ready = all(result["status"] == "ok" for result in checks.values())
    return JsonResponse({"status": "ready" if ready else "not_ready", "checks": checks}, status=200 if ready else 503)
