"""Keeping the database and Redis URLs (with their passwords) out of error pages and logs.

Django's error reports hide settings whose names look secret (KEY, PASS, TOKEN…); the URLs of
the services are secrets under other names (DATABASE_URL, REDIS_URL, CACHES' LOCATION, the
channel layer's hosts, Celery's broker), so the console's filter hides those too. Log lines are
scrubbed of the same values whatever logged them (an exception message that quotes a URL).
"""

import logging
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.views.debug import SafeExceptionReporterFilter

# Settings shown as ******** on error pages and in error reports.
HIDDEN_SETTINGS = re.compile(
    "API|AUTHOR|COOKIE|KEY|PASS|SECRET|SIGNATURE|TOKEN|URL|LOCATION|HOSTS|BROKER|BACKEND|DATABASES", flags=re.I
)


class ConsoleExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = HIDDEN_SETTINGS


def connection_secrets() -> list[tuple[str, str]]:
    """(secret value, what to show instead): each service URL, and its password on its own."""
    found = []
    for name in ("DATABASE_URL", "REDIS_URL"):
        url = getattr(settings, name, None) or ""
        if not url:
            continue
        found.append((url, f"[{name}]"))
        password = urlsplit(url).password
        if password:
            found.append((password, "[password]"))
    # Longest first, so that a URL is replaced whole before the password inside it.
    return sorted(found, key=lambda pair: -len(pair[0]))


def redact_connection_secrets(text: str) -> str:
    for secret, label in connection_secrets():
        text = text.replace(secret, label)
    return text


class RedactingFormatter(logging.Formatter):
    """The console's log format, with the service URLs and passwords taken out."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_connection_secrets(super().format(record))
