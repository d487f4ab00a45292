"""Every admin and desk page renders for the role it is for, and refuses everyone else."""

import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


def admin_pages():
    for model in admin.site._registry:
        meta = model._meta
        yield reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        yield reverse(f"admin:{meta.app_label}_{meta.model_name}_add")


def test_every_admin_page_renders_for_the_admin(client, site_admin):
    client.force_login(site_admin)
    pages = [reverse("admin:index"), *admin_pages()]

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


def test_widget_demo_shows_each_inbox_embed_tag_to_staff(client, site_admin):
    from conversations.services import inbox_ensure

    inbox, _ = inbox_ensure(name="Shop", allowed_origins=["https://shop.example"], greeting="Hi")
    client.force_login(site_admin)

    page = client.get(reverse("widget:demo")).content.decode()

    assert f'data-inbox-token="{inbox.widget_token}"' in page.replace("&quot;", '"')
    assert "https://shop.example" in page


def test_widget_demo_without_inboxes_says_how_to_create_one(client, site_admin):
    client.force_login(site_admin)

    page = client.get(reverse("widget:demo")).content.decode()

    assert "No inbox yet" in page
    assert reverse("admin:conversations_inbox_add") in page


def test_widget_demo_is_not_for_an_outsider(client, outsider):
    client.force_login(outsider)

    assert client.get(reverse("widget:demo")).status_code == 302


def test_root_leads_to_the_desk(client):
    assert client.get("/")["Location"] == reverse("desk:home")
