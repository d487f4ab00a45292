"""Every admin and desk page renders for the role it is for, and refuses everyone else."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from conversations.models import Inbox
from conversations.services import inbox_ensure

pytestmark = pytest.mark.django_db


def admin_pages(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        yield reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        if model_admin.has_add_permission(request):
            yield reverse(f"admin:{meta.app_label}_{meta.model_name}_add")


def test_every_admin_page_renders_for_the_admin(client, site_admin):
    client.force_login(site_admin)
    pages = [reverse("admin:index"), *admin_pages(site_admin)]

    statuses = {page: client.get(page).status_code for page in pages}

    assert len(pages) > 10
    assert {page: status for page, status in statuses.items() if status != 200} == {}


def test_admin_pages_send_everyone_else_to_the_login(client, outsider):
    client.force_login(outsider)

    response = client.get(reverse("admin:conversations_inbox_changelist"))

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("who", ["support_agent", "reviewer", "site_admin"])
def test_desk_renders_for_people_who_work_there(client, request, who):
    person = request.getfixturevalue(who)
    client.force_login(person)

    response = client.get(reverse("desk:home"))

    assert response.status_code == 200
    assert person.first_name in response.content.decode()
    assert "No conversations are waiting for a human" in response.content.decode()


def test_desk_is_forbidden_to_an_outsider(client, outsider):
    client.force_login(outsider)

    assert client.get(reverse("desk:home")).status_code == 403


def test_desk_sends_an_anonymous_visitor_to_sign_in(client):
    response = client.get(reverse("desk:home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_desk_refuses_a_post(client, support_agent):
    client.force_login(support_agent)

    assert client.post(reverse("desk:home")).status_code == 405


def test_demo_shop_embeds_the_widget_of_the_first_inbox(client):
    inbox, _ = inbox_ensure(name="Shop", allowed_origins=["https://shop.example"], greeting="Hi")

    page = client.get(reverse("demo")).content.decode()

    assert f'src="/static/widget/widget.js" data-inbox-token="{inbox.widget_token}"' in page


def test_demo_shop_picks_an_inbox_by_its_token(client):
    inbox_ensure(name="A shop", allowed_origins=[], greeting="Hi")
    other, _ = inbox_ensure(name="B shop", allowed_origins=[], greeting="Hi")

    page = client.get(reverse("demo"), {"inbox": other.widget_token}).content.decode()

    assert f'data-inbox-token="{other.widget_token}"' in page


def test_demo_shop_with_an_unknown_token_is_a_404_that_says_so(client):
    response = client.get(reverse("demo"), {"inbox": "nope"})

    assert response.status_code == 404
    assert "No inbox has that widget token" in response.content.decode()


def test_demo_shop_without_inboxes_says_how_to_create_one(client):
    page = client.get(reverse("demo")).content.decode()

    assert "No inbox yet" in page and "widget.js" not in page


def test_inbox_admin_shows_the_embed_tag(client, site_admin):
    inbox, _ = inbox_ensure(name="Shop", allowed_origins=[], greeting="Hi")
    client.force_login(site_admin)

    page = client.get(reverse("admin:conversations_inbox_change", args=[inbox.pk])).content.decode()

    assert f'data-inbox-token="{inbox.widget_token}"' in page
    assert "http://127.0.0.1:8000/static/widget/widget.js" in page


def test_root_leads_to_the_desk(client):
    assert client.get("/")["Location"] == reverse("desk:home")


def test_every_admin_change_page_renders_with_real_rows(client, site_admin, support_agent):
    from conversations import services
    from conversations.models import AuditEvent, Conversation, Customer, Message

    inbox, _ = inbox_ensure(name="Shop", allowed_origins=[], greeting="Hi")
    conversation, _, _ = services.conversation_open(inbox, name="Carla")
    services.message_post_from_customer(conversation.pk, content="Hello", client_message_id="c-1")
    Conversation.objects.filter(pk=conversation.pk).update(status="human_active")
    services.message_post_from_human(conversation.pk, agent=support_agent, content="A note", internal=True)
    client.force_login(site_admin)

    for model in (Inbox, Customer, Conversation, AuditEvent):
        row = model.objects.first()
        page = client.get(reverse(f"admin:conversations_{model._meta.model_name}_change", args=[row.pk]))
        assert page.status_code == 200, model
    conversation_page = client.get(reverse("admin:conversations_conversation_change", args=[conversation.pk]))
    assert "Hello" in conversation_page.content.decode() and "A note" in conversation_page.content.decode()
    assert Message.objects.count() == 2


def test_every_desk_page_renders_for_an_agent_of_the_inbox_and_is_a_404_for_others(client, support_agent, outsider):
    from conversations import services
    from reviews.roles import SUPPORT_AGENT, user_grant_role
    from reviews.services import handover_claim, inbox_grant

    inbox, _ = inbox_ensure(name="Shop", allowed_origins=[], greeting="Hi")
    inbox_grant(support_agent, inbox)
    conversation, _, _ = services.conversation_open(inbox, name="Carla")
    services.message_post_from_customer(conversation.pk, content="Hello", client_message_id="c-1")
    services.conversation_start_ai(conversation.pk)
    services.conversation_hand_over(conversation.pk, reason="human_request")
    handover_claim(support_agent, conversation.pk)
    pages = [
        reverse("desk:home"),
        reverse("desk:conversation", args=[conversation.pk]),
        reverse("desk:canned", args=[conversation.pk]),
    ]

    client.force_login(support_agent)
    assert {page: client.get(page).status_code for page in pages} == dict.fromkeys(pages, 200)
    user_grant_role(outsider, SUPPORT_AGENT)  # on the desk, but not in this inbox
    client.force_login(outsider)
    assert {page: client.get(page).status_code for page in pages[1:]} == dict.fromkeys(pages[1:], 404)


def test_desk_admin_pages_render_with_real_rows(client, site_admin, support_agent):
    from reviews.models import CannedResponse
    from reviews.services import human_agent_profile_ensure

    inbox, _ = inbox_ensure(name="Shop", allowed_origins=[], greeting="Hi")
    agent = human_agent_profile_ensure(support_agent, skills=["billing"])
    canned = CannedResponse.objects.create(shortcut="hello", title="Greeting", content="Hi {name}")
    client.force_login(site_admin)

    pages = [
        reverse("admin:reviews_humanagent_change", args=[agent.pk]),
        reverse("admin:reviews_cannedresponse_change", args=[canned.pk]),
        reverse("admin:conversations_inbox_permissions", args=[inbox.pk]),
    ]

    assert {page: client.get(page).status_code for page in pages} == dict.fromkeys(pages, 200)
