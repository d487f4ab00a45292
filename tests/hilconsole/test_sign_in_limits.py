"""Signing in to the desk and the admin is limited per account and per address (django-axes,
counted in the real Redis)."""

import pytest
import redis
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db
SIGN_INS = {"desk": "login", "admin": "admin:login"}


@pytest.fixture(autouse=True)
def no_earlier_attempts():
    """Attempts are counted in Redis, which outlives each test's database."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("hil:*axes*"):
        client.delete(key)
    yield
    for key in client.scan_iter("hil:*axes*"):
        client.delete(key)


def sign_in(client, where, username, password, address="198.51.100.7"):
    return client.post(reverse(SIGN_INS[where]), {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("where", ["desk", "admin"])
def test_after_too_many_failures_an_account_is_locked_even_with_its_password_from_elsewhere(
    client, site_admin, settings, where
):
    settings.AXES_FAILURE_LIMIT = 3
    statuses = [sign_in(client, where, "ada", "guess", address=f"203.0.113.{n}").status_code for n in range(3)]
    assert statuses == [200, 200, 429]  # the form's error twice, then the lockout

    refused = sign_in(client, where, "ada", "pw", address="192.0.2.50")

    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many failed sign-ins" in page and "Try again in 15 minutes" in page
    assert "_auth_user_id" not in client.session


def test_too_many_failures_from_one_address_lock_that_address_for_every_account(
    client, site_admin, support_agent, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    for username in ("ann", "bob", "cid"):
        sign_in(client, "desk", username, "guess", address="198.51.100.66")

    from_there = sign_in(client, "desk", "ana", "pw", address="198.51.100.66")
    from_elsewhere = sign_in(client, "desk", "ana", "pw", address="198.51.100.67")

    assert from_there.status_code == 429
    assert from_elsewhere.status_code == 302 and client.session["_auth_user_id"] == str(support_agent.pk)


def test_a_successful_sign_in_before_the_limit_clears_the_accounts_count(client, support_agent, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for attempt in range(2):
        sign_in(client, "desk", "ana", "guess", address=f"203.0.113.{attempt}")
    assert sign_in(client, "desk", "ana", "pw", address="203.0.113.9").status_code == 302
    client.logout()

    for attempt in range(2):
        sign_in(client, "desk", "ana", "guess", address=f"203.0.113.{20 + attempt}")

    assert sign_in(client, "desk", "ana", "pw", address="203.0.113.30").status_code == 302


def test_behind_a_proxy_the_address_counted_is_the_one_the_proxy_saw(client, site_admin, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for username in ("ann", "bob"):
        client.post(
            reverse("login"), {"username": username, "password": "guess"},
            REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.80",
        )  # fmt: skip

    # A spoofed first hop changes nothing: the proxy's own entry is the last one.
    refused = client.post(
        reverse("login"), {"username": "ada", "password": "pw"},
        REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="5.6.7.8, 198.51.100.80",
    )  # fmt: skip
    other_client = client.post(
        reverse("login"), {"username": "ada", "password": "pw"},
        REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.81",
    )  # fmt: skip

    assert refused.status_code == 429
    assert other_client.status_code == 302
