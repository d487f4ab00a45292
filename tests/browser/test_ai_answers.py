"""A customer talks to the AI in the embedded widget, in headless Chromium, with the real ASGI
server, a live Celery worker running the shipped pipeline on the local model, and Redis."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def ask(page, inbox, text):
    page.goto(f"/demo/?inbox={inbox.widget_token}")
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
