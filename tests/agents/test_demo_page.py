"""The demo shop page signs a visitor in as one of the shop's customers, as a shop's server would."""

import json
import re

import pytest
from django.urls import reverse

from conversations.services import conversation_open, inbox_ensure

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox():
    return inbox_ensure(name="Shop", allowed_origins=[], greeting="Hi")[0]


def customer_given_to_the_widget(page: str):
    found = re.search(r'<script id="demo-customer" type="application/json">(.*?)</script>', page)
    return json.loads(found.group(1)) if found else "no sign-in"


def test_a_visitor_picks_a_demo_customer_and_the_page_signs_their_identity(client, inbox, settings):
    settings.DEMO_SHOP_SIGN_IN = True

    page = client.get(reverse("demo"), {"customer": "shop-ana"}).content.decode()

    user = customer_given_to_the_widget(page)
    assert user == {
        "identifier": "shop-ana",
        "identifier_hash": inbox.identifier_hash("shop-ana"),
        "name": "Ana Silva",
        "email": "ana.silva@demo.example",
    }
    assert 'data-demo="signed-in">Ana Silva<' in page and "Sign out" in page
    conversation, _, _ = conversation_open(inbox, **{key: user[key] for key in ("identifier", "identifier_hash")})
    assert conversation.customer.identifier == "shop-ana"  # the console takes it as verified


def test_a_signed_out_visitor_is_offered_the_demo_customers_and_the_widget_is_told_nobody_is_signed_in(
    client, inbox, settings
):
    settings.DEMO_SHOP_SIGN_IN = True

    page = client.get(reverse("demo")).content.decode()

    assert customer_given_to_the_widget(page) is None
    assert '<option value="shop-marc">Marc Dubois</option>' in page


def test_signing_in_as_someone_who_is_not_a_demo_customer_is_a_404_that_signs_nothing(client, inbox, settings):
    settings.DEMO_SHOP_SIGN_IN = True

    response = client.get(reverse("demo"), {"customer": "ceo@console.example"})

    assert response.status_code == 404
    assert "no such customer" in response.content.decode()
    assert customer_given_to_the_widget(response.content.decode()) is None


def test_without_the_demo_sign_in_the_page_signs_nobody(client, inbox, settings):
    settings.DEMO_SHOP_SIGN_IN = False

    page = client.get(reverse("demo"), {"customer": "shop-ana"}).content.decode()

    assert customer_given_to_the_widget(page) == "no sign-in"
    assert inbox.identifier_hash("shop-ana") not in page and "Sign in as" not in page
