"""Tasks only the test worker loads (`--include=tests.celery_tasks`)."""

import os
import time

import redis
from celery import shared_task
from django.conf import settings


@shared_task(name="tests.count_attempts")
def count_attempts(key: str, first_attempt_seconds: float) -> int:
    """Counts its runs in Redis; the first run lingers so a test can kill its worker process."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    attempt = client.incr(key)
    client.set(f"{key}:pid", os.getpid())
    if attempt == 1:
        time.sleep(first_attempt_seconds)
    return attempt


@shared_task(name="tests.send_to_channel")
def send_to_channel(channel: str, text: str) -> None:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    async_to_sync(get_channel_layer().send)(channel, {"type": "test.message", "text": text})


@shared_task(name="tests.gateway_answer")
def gateway_answer(profile: str) -> dict:
    """A model call made where pipelines make theirs: in a forked Celery pool process."""
    from agents.llm import gateway

    completion = gateway.complete([{"role": "user", "content": "Hello"}], profile=profile)
    return {"content": completion.content, "model": completion.model, "llm_call_id": completion.llm_call_id}
