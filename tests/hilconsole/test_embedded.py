"""The embedded PostgreSQL and Redis, each test on its own throwaway data folder and ports."""

import os
import socket
import subprocess
import sys

import psycopg
import pytest
import redis

from hilconsole import embedded
from tests.processes import BASE_DIR, free_port


@pytest.fixture
def scratch_services(tmp_path):
    # tmp_path may sit under a private folder; the services' own folder is opened up as needed.
    services = embedded.Services(root=tmp_path / "services", postgres_port=free_port(), redis_port=free_port())
    yield services
    embedded.stop(services)


def test_services_keep_their_data_across_a_clean_stop_and_restart(scratch_services):
    embedded.ensure_running(scratch_services)
    with psycopg.connect(scratch_services.database_url, autocommit=True) as db:
        db.execute("CREATE TABLE kept (note text)")
        db.execute("INSERT INTO kept VALUES ('still here')")
    redis.Redis.from_url(scratch_services.redis_url).set("kept", "still here")

    assert embedded.stop(scratch_services) == ["postgres", "redis"]
    assert embedded.status(scratch_services) == {"postgres": False, "redis": False}
    embedded.ensure_running(scratch_services)

    with psycopg.connect(scratch_services.database_url) as db:
        assert db.execute("SELECT note FROM kept").fetchone() == ("still here",)
        db.execute("CREATE EXTENSION IF NOT EXISTS vector")
        assert db.execute("SELECT '[3,4]'::vector <-> '[0,0]'::vector").fetchone() == (5.0,)
    assert redis.Redis.from_url(scratch_services.redis_url).get("kept") == b"still here"


def test_starting_again_reuses_the_running_servers(scratch_services):
    embedded.ensure_running(scratch_services)
    pid_file = scratch_services.postgres_dir / "postmaster.pid"
    postmaster = pid_file.read_text().splitlines()[0]

    embedded.ensure_running(scratch_services)

    assert pid_file.read_text().splitlines()[0] == postmaster


def test_a_port_taken_by_another_program_is_reported_clearly(scratch_services):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", scratch_services.redis_port))
        squatter.listen()
        with pytest.raises(embedded.EmbeddedServiceError) as refused:
            embedded.ensure_running(scratch_services)

    message = str(refused.value)
    assert f"Port {scratch_services.redis_port}" in message
    assert "EMBEDDED_REDIS_PORT" in message and "REDIS_URL" in message


def test_a_broken_data_folder_is_reported_clearly_and_left_untouched(scratch_services):
    scratch_services.postgres_dir.mkdir(parents=True)
    (scratch_services.postgres_dir / "notes.txt").write_text("not a database")

    with pytest.raises(embedded.EmbeddedServiceError) as refused:
        embedded.ensure_running(scratch_services)

    assert "PG_VERSION is missing" in str(refused.value)
    assert "mv " in str(refused.value)
    assert (scratch_services.postgres_dir / "notes.txt").read_text() == "not a database"


def test_a_port_setting_that_is_not_a_port_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBEDDED_PG_PORT", "fifty")

    with pytest.raises(embedded.EmbeddedServiceError, match="EMBEDDED_PG_PORT='fifty' is not a TCP port"):
        embedded.from_environment(tmp_path)


def test_settings_exit_with_a_clear_message_when_services_cannot_start(scratch_services):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", scratch_services.postgres_port))
        squatter.listen()
        result = _load_settings(
            EMBEDDED_DIR=str(scratch_services.root),
            EMBEDDED_PG_PORT=str(scratch_services.postgres_port),
            EMBEDDED_REDIS_PORT=str(scratch_services.redis_port),
        )

    assert result.returncode == 1
    assert "cannot start its embedded services" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_embedded_service_starts_when_urls_are_configured(settings, tmp_path):
    untouched = tmp_path / "never-created"

    result = _load_settings(
        EMBEDDED_DIR=str(untouched), DATABASE_URL=settings.DATABASE_URL, REDIS_URL=settings.REDIS_URL
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"
    assert not untouched.exists()


def _load_settings(**environment) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(environment, DJANGO_SETTINGS_MODULE="hilconsole.settings")
    code = "from django.conf import settings; print(settings.EMBEDDED_SERVICES)"
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True)
