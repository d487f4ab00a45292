"""The hottest statements are prepared on their connection (hilconsole/prepared.py), and a
deployment behind a pooler that cannot keep prepared statements turns that off."""

import pytest
from django.conf import settings
from django.db import connection
from django.shortcuts import resolve_url
from django.urls import reverse

from conversations.models import AuditEvent, Conversation
from hilconsole.prepared import insert_row, update_row
from reviews.roles import SUPPORT_AGENT, DeskUserBackend, role_groups_ensure, user_grant_role
from tests.hilconsole.test_deploy_check import manage, production


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_a_desk_request_prepares_its_session_and_user_statements_once(client, support_agent):
    client.force_login(support_agent)
    assert client.get(reverse("desk:home")).status_code == 200
    after_one = prepared_statements()
    assert client.get(reverse("desk:home")).status_code == 200

    assert any("django_session" in statement for statement in after_one)
    assert any("auth_user" in statement and "ARRAY(" in statement for statement in after_one)
    assert prepared_statements() == after_one  # the second request reused them


def test_the_user_read_with_their_roles_is_the_user_django_would_read(django_user_model):
    role_groups_ensure()
    ana = django_user_model.objects.create_user("ana", "ana@example.com", "pw", first_name="Ana")
    user_grant_role(ana, SUPPORT_AGENT)
    backend = DeskUserBackend()

    read = backend.get_user(str(ana.pk))

    assert (read.pk, read.username, read.email, read.first_name) == (ana.pk, "ana", "ana@example.com", "Ana")
    assert read.check_password("pw") and read.date_joined == ana.date_joined
    assert read._desk_roles == [SUPPORT_AGENT]
    assert backend.get_user("not a number") is None and backend.get_user(str(ana.pk + 1000)) is None
    django_user_model.objects.filter(pk=ana.pk).update(is_active=False)
    assert backend.get_user(str(ana.pk)) is None


@pytest.mark.parametrize(("setting", "prepared"), [(None, True), ("false", False)])
def test_prepared_statements_can_be_turned_off_for_a_pooler_that_cannot_keep_them(settings, setting, prepared):
    code = (
        "from django.db import connection; from hilconsole.prepared import prepared_cursor; "
        "prepared_cursor().execute('SELECT %s::int', [1]); "
        "print(connection.cursor().execute('SELECT count(*) FROM pg_prepared_statements').fetchone()[0])"
    )
    result = manage(production(settings) | {"DATABASE_PREPARED_STATEMENTS": setting}, "shell", "-c", code)

    assert result.returncode == 0, result.stderr
    assert (int(result.stdout.strip().splitlines()[-1]) > 0) is prepared


def test_a_desk_session_ends_when_its_password_changes_or_the_account_is_deactivated(client, support_agent):
    """The one-statement user read keeps what Django checks of a session's user."""
    desk = reverse("desk:home")
    client.force_login(support_agent)
    assert client.get(desk).status_code == 200

    support_agent.set_password("a new one")
    support_agent.save()
    assert client.get(desk).url.startswith(resolve_url(settings.LOGIN_URL))

    client.force_login(support_agent)
    type(support_agent).objects.filter(pk=support_agent.pk).update(is_active=False)
    assert client.get(desk).url.startswith(resolve_url(settings.LOGIN_URL))


@pytest.mark.django_db
def test_a_row_inserted_by_a_prepared_statement_is_the_row_save_would_write():
    event = insert_row(AuditEvent(actor_label="ana", action="inbox.changed", target_type="t", target_id="7"))

    stored = AuditEvent.objects.get(pk=event.pk)
    assert event.pk is not None and not event._state.adding
    assert (stored.actor_label, stored.action, stored.before, stored.after) == ("ana", "inbox.changed", {}, {})
    assert stored.created_at == event.created_at is not None


@pytest.mark.django_db
def test_a_prepared_update_writes_the_fields_named_and_no_other(support_conversation):
    support_conversation.status = Conversation.Status.AI_PROCESSING
    support_conversation.priority = Conversation.Priority.URGENT

    update_row(support_conversation, ("status",))

    stored = Conversation.objects.get(pk=support_conversation.pk)
    assert stored.status == Conversation.Status.AI_PROCESSING
    assert stored.priority == Conversation.Priority.NORMAL
