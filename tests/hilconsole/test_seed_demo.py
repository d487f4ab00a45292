from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from conversations.models import Inbox
from reviews.roles import REVIEWER, SUPPORT_AGENT, user_desk_roles

pytestmark = pytest.mark.django_db


def people():
    # django-guardian keeps its own AnonymousUser row; it is nobody the demo created.
    return get_user_model().objects.exclude(username="AnonymousUser")


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_the_cast_and_prints_their_logins(settings):
    settings.DEBUG = True
    printed = seed()

    users = {user.username: user for user in people()}
    assert set(users) == {"admin", "ana", "ben", "rita"}
    assert users["admin"].is_superuser and users["admin"].check_password("hil-demo")
    assert user_desk_roles(users["ana"]) == [SUPPORT_AGENT] == user_desk_roles(users["ben"])
    assert user_desk_roles(users["rita"]) == [REVIEWER]
    assert Inbox.objects.get().name == "Demo shop"
    assert "password for all: hil-demo" in printed and "ana" in printed and "rita" in printed


def test_seed_demo_gives_ana_and_ben_a_desk_with_skills_the_demo_inbox_and_canned_responses(settings):
    from reviews.models import CannedResponse
    from reviews.selectors import inbox_ids_for

    settings.DEBUG = True
    seed()

    inbox = Inbox.objects.get()
    for username, skills in (("ana", ["billing", "returns"]), ("ben", ["shipping", "technical"])):
        user = get_user_model().objects.get(username=username)
        assert user.human_agent.skills == skills
        assert inbox_ids_for(user) == {inbox.pk}
    assert CannedResponse.objects.filter(shortcut="hello").exists()


def test_seed_demo_lets_rita_decide_refunds_and_address_changes_of_the_demo_inbox_and_not_ana(settings):
    from agents.models import Tool
    from reviews.selectors import approvable_tool_ids, inbox_ids_for

    settings.DEBUG = True
    seed()

    rita, ana = (get_user_model().objects.get(username=name) for name in ("rita", "ana"))
    gated = set(
        Tool.objects.filter(name__in=["request_refund", "update_shipping_address"]).values_list("pk", flat=True)
    )
    assert inbox_ids_for(rita) == {Inbox.objects.get().pk}
    assert approvable_tool_ids(rita) == gated
    assert approvable_tool_ids(ana) == set()


def test_seed_demo_ships_the_back_office_workflows_on_the_demo_inbox_and_lets_rita_submit_to_them(settings):
    from agents.models import Workflow

    settings.DEBUG = True
    printed = seed()

    inbox = Inbox.objects.get()
    assert {(w.name, w.kind, w.inbox_id) for w in Workflow.objects.all()} == {
        ("document_analysis", "document_analysis", inbox.pk),
        ("refund_claim", "application", inbox.pk),
    }
    rita, ana = (get_user_model().objects.get(username=name) for name in ("rita", "ana"))
    assert rita.has_perm("agents.add_documentanalysis") and rita.has_perm("agents.add_application")
    assert not ana.has_perm("agents.add_application")
    assert "Back-office workflows: document_analysis, refund_claim" in printed


def test_seed_demo_run_twice_changes_nothing_and_keeps_edits(settings):
    settings.DEBUG = True
    seed()
    ana = get_user_model().objects.get(username="ana")
    ana.set_password("ana-chose-this")
    ana.save()
    token = Inbox.objects.get().widget_token

    printed = seed()

    assert people().count() == 4
    assert get_user_model().objects.get(username="ana").human_agent.max_concurrent == 5
    assert Inbox.objects.get().widget_token == token
    assert get_user_model().objects.get(username="ana").check_password("ana-chose-this")
    assert "0 people and 0 inbox created" in printed


def test_seed_demo_refuses_to_plant_known_passwords_in_production(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is off"):
        seed()
    assert not people().exists()
