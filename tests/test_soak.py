"""A one-minute soak of the whole console (bench/soak.py): web, worker and beat processes, random
customers and agents, then every conversation checked for lost or duplicated messages."""

import os
import shutil
import subprocess
import sys

from tests.processes import BASE_DIR, free_port

SOAK_SECONDS = 60


def test_a_minute_of_random_customers_and_agents_leaves_no_message_behind():
    data = BASE_DIR / "var" / "test-soak"
    shutil.rmtree(data, ignore_errors=True)  # a fresh console each time, as a new deployment starts
    env = {
        **os.environ,
        # Services of its own, as the benchmark starts them: the suite's are not touched.
        "EMBEDDED_DIR": str(data),
        "EMBEDDED_PG_PORT": str(free_port()),
        "EMBEDDED_REDIS_PORT": str(free_port()),
    }
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)

    soak = subprocess.run(
        [sys.executable, "bench/soak.py", "--seconds", str(SOAK_SECONDS), "--seed", "1"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip

    report = soak.stdout + soak.stderr[-3000:]
    assert soak.returncode == 0, report
    assert "violations: 0" in soak.stdout
    assert "customer messages" in soak.stdout and "claim done" in soak.stdout, report
