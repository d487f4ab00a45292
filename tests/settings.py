"""Settings for the test suite: the same as production code, on test-only embedded services.

The suite's PostgreSQL and Redis live in `var/test` on their own ports, so `make test` and
`make run` can run at the same time without touching each other's data.
"""

import os
from pathlib import Path

from hilconsole import embedded

# Like `make run`: development settings (pytest-django still runs each test with DEBUG off).
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("EMBEDDED_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))
os.environ.setdefault("EMBEDDED_PG_PORT", "55433")
os.environ.setdefault("EMBEDDED_REDIS_PORT", "56380")

_profile = embedded.from_environment(Path(__file__).resolve().parent.parent)
# Services this run starts are stopped when it ends; ones already running are left running.
TEST_SERVICES_WERE_RUNNING = all(embedded.status(_profile).values())

from hilconsole.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
# See tests/content_types.py: the test server and worker outlive the tests' emptied tables.
GUARDIAN_GET_CONTENT_TYPE = "tests.content_types.fresh_content_type"
