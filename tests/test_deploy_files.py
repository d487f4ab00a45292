"""The process definitions docs/deploy.md offers (docs/deploy/): every queue a task is routed to
has a worker, and the Procfile starts a console that serves."""

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from honcho.environ import parse_procfile

from hilconsole.celery import app as celery_app
from tests.conftest import worker_answers_ping
from tests.hilconsole.test_console import readiness
from tests.processes import BASE_DIR, free_port, wait_until

DEPLOY = BASE_DIR / "docs" / "deploy"
QUEUES_FLAG = re.compile(r"--queues=(\S+)")


def procfile() -> dict[str, str]:
    return dict(parse_procfile((DEPLOY / "Procfile").read_text()).processes)


def queues_of(commands) -> set[str]:
    return {queue for command in commands for match in QUEUES_FLAG.findall(command) for queue in match.split(",")}


def test_every_routed_queue_is_a_known_queue():
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} == set(settings.CELERY_TASK_QUEUES)


def test_the_procfiles_workers_consume_every_queue_and_nothing_else():
    workers = [command for command in procfile().values() if " worker " in command]

    assert len(workers) == 2
    assert queues_of(workers) == set(settings.CELERY_TASK_QUEUES)


def test_the_systemd_worker_examples_consume_every_queue_and_nothing_else():
    queues = set()
    for env_file in (DEPLOY / "systemd").glob("worker-*.env"):
        (line,) = [line for line in env_file.read_text().splitlines() if line.startswith("QUEUES=")]
        queues |= set(line.removeprefix("QUEUES=").split(","))

    assert queues == set(settings.CELERY_TASK_QUEUES)
    assert "--queues=${QUEUES}" in (DEPLOY / "systemd" / "hil-worker@.service").read_text()


def test_the_web_processes_take_the_consoles_websocket_frame_limit():
    web_unit = (DEPLOY / "systemd" / "hil-web@.service").read_text()
    for command in (procfile()["web"], web_unit):
        assert f"--ws-max-size {settings.WEBSOCKET_MAX_FRAME_BYTES}" in command


@pytest.mark.django_db(transaction=True)
def test_the_procfile_starts_a_console_that_is_ready_with_both_worker_nodes_and_beat(console_env, tmp_path):
    port = free_port()
    env = {**console_env, "PORT": str(port), "PATH": f"{Path(sys.executable).parent}:{console_env['PATH']}"}
    log = tmp_path / "honcho.log"
    with open(log, "wb") as output:
        honcho = subprocess.Popen(
            [sys.executable, "-m", "honcho", "-f", "docs/deploy/Procfile", "start"],
            cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    nodes = [f"{role}-1@{socket.gethostname()}" for role in ("turns", "background")]
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: (readiness(url) or {}).get("status") == "ready", "the web process to be ready", 120)
        wait_until(lambda: all(worker_answers_ping(node) for node in nodes), "both worker nodes", 120)
        wait_until(lambda: "beat: Starting" in log.read_text(errors="replace"), "beat to start", 60)
        assert active_queues(nodes) == {nodes[0]: {"turns"}, nodes[1]: {"celery", "ingestion", "sweeps"}}
    finally:
        honcho.send_signal(signal.SIGINT)  # as Ctrl-C: honcho stops every process
        try:
            honcho.wait(60)
        except subprocess.TimeoutExpired:
            honcho.kill()
            raise
    assert "web.1" in log.read_text() and "beat.1" in log.read_text()


def active_queues(nodes: list[str]) -> dict[str, set[str]]:
    """The queues each node consumes."""
    # A fresh broker connection: a test may have restarted Redis under the pooled ones.
    with celery_app.connection_for_write() as broker:
        consuming = celery_app.control.inspect(destination=nodes, timeout=10, connection=broker).active_queues()
    return {node: {queue["name"] for queue in queues} for node, queues in (consuming or {}).items()}
