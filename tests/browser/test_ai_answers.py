"""A customer talks to the AI in the embedded widget, in headless Chromium, with the real ASGI
server, a live Celery worker running the shipped pipeline on the local model, and Redis."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def ask(page, inbox, text, customer=""):
    """Ask in the demo shop's widget, signed in as one of the shop's customers when given."""
    page.goto(f"/demo/?inbox={inbox.widget_token}" + (f"&customer={customer}" if customer else ""))
    page.locator('[data-hil="launcher"]').click()
    page.locator('[data-hil="input"]').fill(text)
    page.locator('[data-hil="input"]').press("Enter")


def test_a_faq_is_answered_in_the_widget_with_the_cited_article(page, live_worker, live_support_inbox):
    ask(page, live_support_inbox, "How long does shipping take?")

    answer = page.locator('[data-hil="message"][data-sender="ai"]')
    expect(answer).to_contain_text("[1]", timeout=30_000)
    expect(answer.locator('[data-hil="sources"]')).to_have_text("Sources: Shipping times and costs")


def test_asking_for_a_person_tells_the_customer_one_is_coming(page, live_worker, live_support_inbox):
    ask(page, live_support_inbox, "I want to talk to a human")

    expect(page.locator('[data-hil="message"][data-sender="ai"]')).to_contain_text(
        "passing you to a person from our team", timeout=30_000
    )
    expect(page.locator('[data-hil="status"]')).to_contain_text("Connecting you to a person")


def test_an_orders_details_are_shown_only_once_its_customer_signed_in_on_the_shop(
    page, live_worker, live_support_inbox
):
    from agents.demo_shop.services import demo_orders_ensure

    demo_orders_ensure()
    ask(page, live_support_inbox, "Where is my order 100234?")
    anonymous = page.locator('[data-hil="message"][data-sender="ai"]')
    expect(anonymous).to_contain_text("shipped", timeout=30_000)
    expect(anonymous).not_to_contain_text("Rua das Flores")
    expect(anonymous).not_to_contain_text("placed on")  # the owner's view only

    page.goto(f"/demo/?inbox={live_support_inbox.widget_token}")
    page.get_by_label("Sign in as").select_option("shop-ana")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator('[data-demo="signed-in"]')).to_have_text("Ana Silva")
    page.locator('[data-hil="launcher"]').click()
    expect(page.locator('[data-hil="message"]')).to_have_count(0)  # Ana does not see the visitor's chat
    page.locator('[data-hil="input"]').fill("Where is my order 100234?")
    page.locator('[data-hil="input"]').press("Enter")

    expect(page.locator('[data-hil="message"][data-sender="ai"]')).to_contain_text("placed on", timeout=30_000)
