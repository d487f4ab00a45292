import subprocess
import sys

from tests.processes import BASE_DIR


def run_check(settings, **overrides) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "hilconsole.settings",
        "DEBUG": "false",
        "SECRET_KEY": "k7#Qz!v2Lr9@xW4pT8^mN3&bY6*cF1hJ0sD5gA-eR_uI+oP=lK",
        "ALLOWED_HOSTS": "console.example.com",
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
        **overrides,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )


def test_deploy_check_passes_with_production_variables(settings):
    result = run_check(settings)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_fails_on_the_development_defaults(settings):
    result = run_check(settings, DEBUG="true", SECRET_KEY="")

    assert result.returncode == 1
    assert "DEBUG" in result.stderr


def test_a_malformed_boolean_setting_fails_loudly(settings):
    result = run_check(settings, DEBUG="maybe")

    assert result.returncode == 1
    assert "DEBUG='maybe' is not a boolean" in result.stderr
