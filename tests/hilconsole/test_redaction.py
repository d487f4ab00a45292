"""The database and Redis URLs (and their passwords) never appear on an error page or in a log."""

import logging
import sys

from django.test import RequestFactory
from django.views.debug import technical_500_response

from hilconsole import health
from hilconsole.redaction import RedactingFormatter

# Built from pieces: the error page quotes this file's source lines, which must not count as leaks.
DB_PASSWORD, REDIS_PASSWORD = "-".join(["pg", "S3cret", "pass"]), "-".join(["r3dis", "S3cret"])
DATABASE_URL = f"postgres://hil:{DB_PASSWORD}@db.internal:5432/hilconsole"
REDIS_URL = f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0"


def error_page(settings) -> str:
    settings.DEBUG = True
    try:
        raise RuntimeError("something broke")
    except RuntimeError:
        return technical_500_response(RequestFactory().get("/desk/"), *sys.exc_info()).content.decode()


def test_the_debug_error_page_shows_neither_service_url(settings):
    live = (settings.DATABASE_URL, settings.REDIS_URL, settings.CACHES["default"]["LOCATION"])

    page = error_page(settings)

    assert "something broke" in page and "ROOT_URLCONF" in page  # it is the settings page
    assert not [value for value in live if value in page]
    assert "CELERY_BROKER_URL" in page and "********" in page


def test_the_debug_error_page_hides_passwords_of_configured_urls(settings):
    settings.DATABASE_URL, settings.REDIS_URL = DATABASE_URL, REDIS_URL
    settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = REDIS_URL

    page = error_page(settings)

    assert DB_PASSWORD not in page and REDIS_PASSWORD not in page


def configured_formatter() -> RedactingFormatter:
    """The formatter of the console's own log handler, as LOGGING set it up."""
    formatters = [handler.formatter for handler in logging.getLogger().handlers]
    found = [formatter for formatter in formatters if isinstance(formatter, RedactingFormatter)]
    assert found, "the console's log handler does not redact"
    return found[0]


def test_log_lines_never_carry_a_service_url_or_its_password(settings):
    settings.DATABASE_URL, settings.REDIS_URL = DATABASE_URL, REDIS_URL
    record = logging.LogRecord(
        "hilconsole", logging.ERROR, __file__, 1, "cannot reach %s or %s (password %s)",
        (REDIS_URL, DATABASE_URL, DB_PASSWORD), None,
    )  # fmt: skip

    line = configured_formatter().format(record)

    assert line.endswith("cannot reach [REDIS_URL] or [DATABASE_URL] (password [password])")


def test_the_readiness_probe_does_not_repeat_a_url_from_a_drivers_error(settings):
    settings.REDIS_URL = REDIS_URL

    described = health._describe(ConnectionError(f"Error connecting to {REDIS_URL}: refused"))

    assert described == "ConnectionError: Error connecting to [REDIS_URL]: refused"
