"""`manage.py console` (what `make run` starts): the whole console under one supervisor."""

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
import pytest

from hilconsole.celery import app as celery_app
from tests.processes import BASE_DIR, free_port, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def readiness(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=3) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return json.load(error)
    except OSError:
        return None


@pytest.fixture
def console(console_env):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "console", "--port", str(port), "--no-seed"],
        cwd=BASE_DIR,
        env=console_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: (readiness(url) or {}).get("status") == "ready", "the console to be ready", timeout=90)
        wait_until(console_worker_answers, "the console's own Celery worker", timeout=60)
    except AssertionError:
        process.kill()
        raise AssertionError(process.communicate()[0]) from None
    yield process, url
    if process.poll() is None:
        process.kill()
        process.communicate()


def console_worker_answers() -> bool:
    """The console's worker has the default name; the suite's own worker is test-worker-…."""
    replies = celery_app.control.ping(timeout=0.5)
    return any(name.startswith("celery@") for reply in replies for name in reply)


def children(process) -> dict[str, psutil.Process]:
    """The supervised servers: each is the direct child of one of the supervisor's processes."""
    named = {}
    for child in psutil.Process(process.pid).children(recursive=True):
        if "manage.py console" not in " ".join(child.parent().cmdline()):
            continue
        argv = child.cmdline()
        for name in ("uvicorn", "worker", "beat"):
            if name in argv:
                named[name] = child
    return named


def test_console_serves_every_part_and_stops_all_of_it_on_ctrl_c(console):
    process, url = console
    running = children(process)
    assert set(running) == {"uvicorn", "worker", "beat"}
    # Its one worker does all the work: every queue a task may be routed to.
    consuming = celery_app.control.inspect(timeout=5).active_queues() or {}
    (queues,) = [{queue["name"] for queue in found} for name, found in consuming.items() if name.startswith("celery@")]
    assert queues == {"celery", "turns", "ingestion", "sweeps"}

    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)

    assert process.returncode == 0, output
    for line in ("Admin", "/admin/", "/desk/", "/demo/", "SIGINT received"):
        assert line in output
    assert "web    |" in output and "worker |" in output and "beat   |" in output, output
    assert not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in running.values())
    assert readiness(url) is None


def test_console_reports_a_crashed_child_and_stops_the_rest(console):
    process, url = console
    running = children(process)

    running["worker"].kill()
    output, _ = process.communicate(timeout=60)

    assert process.returncode == 1
    assert "worker stopped (rc=-9)" in output
    assert "A console process exited unexpectedly" in output
    time.sleep(0.2)
    assert readiness(url) is None


def test_console_refuses_a_port_in_use_with_a_clear_message(console_env):
    port = free_port()
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = subprocess.run(
            [sys.executable, "manage.py", "console", "--port", str(port), "--no-seed"],
            cwd=BASE_DIR,
            env=console_env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode == 1
    assert f"Cannot serve on 127.0.0.1:{port}" in result.stderr
    assert "PORT=8001 make run" in result.stderr
