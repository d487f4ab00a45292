import pytest
from django.db import connection
from django.test import override_settings

from hilconsole import embedded
from tests.conftest import worker_answers_ping
from tests.processes import wait_until

pytestmark = pytest.mark.django_db

ALL_CHECKS = {"database", "pgvector", "redis", "celery", "channel_layer"}


def readyz(client):
    response = client.get("/readyz")
    body = response.json()
    failing = {name for name, result in body["checks"].items() if result["status"] != "ok"}
    return response.status_code, body["status"], failing


def test_healthz_answers_while_the_process_is_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_probes_refuse_other_methods(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


def test_readyz_is_ready_with_every_service_up(client, live_worker):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert set(response.json()["checks"]) == ALL_CHECKS
    assert response["Cache-Control"].startswith("max-age=0")


@override_settings(READYZ_CELERY_WINDOW_SECONDS=0)
def test_readyz_reports_celery_when_no_worker_answers(client, live_worker):
    live_worker.stop()
    try:
        status, overall, failing = readyz(client)
    finally:
        live_worker.start()

    assert (status, overall, failing) == (503, "not_ready", {"celery"})
    assert readyz(client)[0] == 200


def test_readyz_reports_pgvector_when_the_extension_is_missing(client, live_worker):
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute("DROP EXTENSION vector CASCADE")

    status, overall, failing = readyz(client)

    assert (status, overall, failing) == (503, "not_ready", {"pgvector"})
    assert "not installed" in client.get("/readyz").json()["checks"]["pgvector"]["error"]


@override_settings(
    CHANNEL_LAYERS={
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]}}
    }
)
def test_readyz_reports_the_channel_layer_when_it_cannot_reach_its_redis(client, live_worker):
    status, overall, failing = readyz(client)

    assert (status, overall, failing) == (503, "not_ready", {"channel_layer"})


@pytest.mark.django_db(transaction=True)
def test_readyz_reports_redis_and_what_needs_it_when_redis_stops(client, embedded_services, live_worker):
    embedded.stop_redis(embedded_services)
    try:
        status, overall, failing = readyz(client)
    finally:
        embedded.ensure_running(embedded_services)
        wait_until(lambda: worker_answers_ping(live_worker.hostname), "the worker to reconnect")

    assert (status, overall, failing) == (503, "not_ready", {"redis", "celery", "channel_layer"})
    assert readyz(client)[0] == 200


@pytest.mark.django_db(transaction=True)
def test_readyz_reports_the_database_when_postgres_stops(client, embedded_services, live_worker):
    connection.close()
    embedded.stop_postgres(embedded_services)
    try:
        status, overall, failing = readyz(client)
    finally:
        embedded.ensure_running(embedded_services)
        connection.close()

    assert (status, overall, failing) == (503, "not_ready", {"database", "pgvector"})
    assert readyz(client)[0] == 200
