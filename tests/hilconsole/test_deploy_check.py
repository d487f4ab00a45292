"""Settings fail closed: outside development the console refuses to start on unsafe settings, and
`check --deploy` passes with the documented production variables."""

import subprocess
import sys

import pytest

from tests.processes import BASE_DIR

STRONG_KEY = "k7#Qz!v2Lr9@xW4pT8^mN3&bY6*cF1hJ0sD5gA-eR_uI+oP=lK"


def production(settings) -> dict:
    """The production variables the README documents."""
    return {
        "DEBUG": "false",
        "SECRET_KEY": STRONG_KEY,
        "ALLOWED_HOSTS": "console.example.com",
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
        "DEMO_SHOP_API_KEY": "Vq3xN8zL1tR6wE2yU9iO4pA7sD0fG5hJ",
    }


def manage(environment: dict, *command: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "hilconsole.settings", **environment}
    env = {name: value for name, value in env.items() if value is not None}
    return subprocess.run(
        [sys.executable, "manage.py", *command], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )


def run_check(settings, **overrides) -> subprocess.CompletedProcess:
    return manage(production(settings) | overrides, "check", "--deploy", "--fail-level", "WARNING")


def test_deploy_check_passes_with_production_variables(settings):
    result = run_check(settings)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_is_off_unless_asked_for(settings):
    result = manage(
        production(settings) | {"DEBUG": None}, "shell", "-c", "from django.conf import settings; print(settings.DEBUG)"
    )

    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def test_deploy_check_fails_on_the_development_defaults(settings):
    result = run_check(settings, DEBUG="true", SECRET_KEY="")

    assert result.returncode == 1
    assert "DEBUG" in result.stderr


@pytest.mark.parametrize(
    "unsafe, complaint",
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short-and-guessable"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "django-insecure-" + STRONG_KEY}, "SECRET_KEY must be set"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must name"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must name"),
        ({"DEMO_SHOP_API_KEY": None}, "DEMO_SHOP_API_KEY must be set"),
        ({"DEMO_SHOP_API_KEY": "demo"}, "DEMO_SHOP_API_KEY must be set"),
        ({"DEBUG": None, "SECRET_KEY": None}, "SECRET_KEY must be set"),
    ],
)
def test_with_debug_off_the_console_refuses_to_start_on_unsafe_settings(settings, unsafe, complaint):
    result = manage(production(settings) | unsafe, "check")

    assert result.returncode == 1
    assert "HIL Console refuses to start: DEBUG is off" in result.stderr
    assert complaint in result.stderr and "Traceback" not in result.stderr


def test_migrations_are_checked_without_the_production_settings(settings):
    bare = {"DATABASE_URL": settings.DATABASE_URL, "REDIS_URL": settings.REDIS_URL}

    written = manage(bare, "makemigrations", "--check", "--dry-run")
    served = manage(bare, "migrate", "--check")

    assert written.returncode == 0 and "No changes detected" in written.stdout, written.stderr
    assert served.returncode == 1 and "HIL Console refuses to start" in served.stderr


def test_the_refusal_names_every_problem_at_once(settings):
    result = manage(
        {**production(settings), "SECRET_KEY": None, "ALLOWED_HOSTS": None, "DEMO_SHOP_API_KEY": None}, "check"
    )

    assert all(name in result.stderr for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DEMO_SHOP_API_KEY"))


def test_a_malformed_boolean_setting_fails_loudly(settings):
    result = run_check(settings, DEBUG="maybe")

    assert result.returncode == 1
    assert "DEBUG='maybe' is not a boolean" in result.stderr
