"""Sessions are Django's database sessions, read with one plain statement (hilconsole.sessions)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from hilconsole.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_the_console_uses_them():
    assert settings.SESSION_ENGINE == "hilconsole.sessions"


def test_a_saved_session_reads_back_as_it_was_written():
    written = SessionStore()
    written["_auth_user_id"], written["cart"] = "7", {"items": [1, 2]}
    written.create()

    read = SessionStore(written.session_key)

    assert (read["_auth_user_id"], read["cart"]) == ("7", {"items": [1, 2]})
    assert read.session_key == written.session_key


def test_an_expired_session_reads_empty_and_a_new_key_is_made_on_save():
    written = SessionStore()
    written["_auth_user_id"] = "7"
    written.create()
    Session.objects.filter(session_key=written.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))

    read = SessionStore(written.session_key)
    assert "_auth_user_id" not in read
    read["cart"] = []
    read.save()

    assert read.session_key != written.session_key


def test_an_unknown_key_reads_empty():
    assert dict(SessionStore("nosuchsessionkey0000000000000000").items()) == {}


def test_a_signed_in_agent_stays_signed_in_across_requests(client, support_agent):
    client.force_login(support_agent)

    assert client.get("/desk/").status_code == 200
    assert client.get("/desk/").wsgi_request.user == support_agent
