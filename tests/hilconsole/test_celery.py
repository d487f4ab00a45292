import os
import signal
import time
import uuid

import redis
from django.conf import settings

from hilconsole.celery import app as celery_app
from hilconsole.tasks import noop


def test_noop_task_makes_a_round_trip_through_a_real_worker(live_worker):
    result = noop.delay({"hello": "worker"})

    assert result.get(timeout=20) == {"hello": "worker"}
    assert result.state == "SUCCESS"


def test_task_whose_worker_process_dies_is_run_again_not_lost(live_worker):
    key = f"attempts-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    result = celery_app.send_task("tests.count_attempts", args=[key, 30])
    deadline = time.monotonic() + 20
    while client.get(f"{key}:pid") is None:
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.05)

    os.kill(int(client.get(f"{key}:pid")), signal.SIGKILL)  # the pool child running it

    assert result.get(timeout=30) == 2
    assert int(client.get(key)) == 2


def test_redelivery_waits_longer_than_any_task_or_countdown():
    visibility_timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]

    assert visibility_timeout > settings.CELERY_TASK_TIME_LIMIT + settings.CELERY_LONGEST_COUNTDOWN
    assert celery_app.conf.task_acks_late and celery_app.conf.task_reject_on_worker_lost
    assert celery_app.conf.worker_prefetch_multiplier == 1


def test_embedded_redis_never_evicts_keys(embedded_services):
    client = redis.Redis.from_url(settings.REDIS_URL)

    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
