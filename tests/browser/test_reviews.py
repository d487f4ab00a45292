"""A refund the AI wants waits for a reviewer: the customer chats in the widget, Rita decides on
her review desk, both in headless Chromium, with the real ASGI server, a live Celery worker
running the shipped pipeline on the local model, and the demo shop."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from agents.models import DemoOrder, ToolCall
from reviews.models import ReviewTask
from reviews.review_tasks import tool_approvers_grant
from reviews.services import inbox_grant
from tests.browser.test_ai_answers import ask
from tests.browser.test_desk import desk_of

# The customer of order 100234, signed in on the demo shop: tools act only for her.
ANA = "shop-ana"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rita(reviewer, live_support_inbox, demo_orders_committed):
    inbox_grant(reviewer, live_support_inbox)
    tool_approvers_grant(reviewer, "request_refund")
    return reviewer


def test_rita_approves_a_refund_on_her_desk_and_the_customer_sees_it_done(
    new_page, live_server_url, live_worker, live_support_inbox, rita
):
    reviews = desk_of(new_page, live_server_url, rita)
    reviews.goto("/desk/reviews/")
    expect(reviews.locator('[ws-connect][data-socket="open"]')).to_be_attached()
    expect(reviews.get_by_text("Nothing to decide")).to_be_visible()
    customer = new_page()

    ask(customer, live_support_inbox, "I want a refund of €20 for order 100234, it arrived broken", ANA)

    expect(customer.locator('[data-hil="message"][data-sender="ai"]')).to_contain_text(
        "A colleague is checking this", timeout=30_000
    )
    row = reviews.locator("#review-list li", has_text="Refund €20.00 on order 100234")
    expect(row).to_be_visible()  # pushed live, no reload
    row.get_by_role("link").click()
    expect(reviews.get_by_role("heading", name="Refund €20.00 on order 100234")).to_be_visible()
    expect(reviews.locator("blockquote")).to_contain_text("I want a refund of €20 for order 100234")
    expect(reviews.locator(".workspace-side")).to_contain_text("89.90")  # the order as the shop sees it

    reviews.get_by_role("button", name="Approve", exact=True).click()

    expect(reviews).to_have_url(re.compile(r"/desk/reviews/$"))
    expect(reviews.get_by_text("Approved: the AI goes on with it.")).to_be_visible()
    expect(customer.locator('[data-hil="message"][data-sender="ai"]').last).to_contain_text("20", timeout=30_000)
    assert DemoOrder.objects.get(number="100234").refunded_amount == Decimal("20.00")
    assert ToolCall.objects.count() == 1 and ReviewTask.objects.get().decided_by == rita


def test_rita_edits_the_amount_in_the_form_built_from_the_tools_schema(
    new_page, live_server_url, live_worker, live_support_inbox, rita
):
    customer = new_page()
    ask(customer, live_support_inbox, "I want a refund of €20 for order 100234, it arrived broken", ANA)
    expect(customer.locator('[data-hil="message"][data-sender="ai"]')).to_contain_text(
        "A colleague is checking this", timeout=30_000
    )
    task = ReviewTask.objects.get()
    reviews = desk_of(new_page, live_server_url, rita)
    reviews.goto(f"/desk/reviews/{task.pk}/")

    reviews.get_by_label("amount").fill("-3")
    reviews.get_by_role("button", name="Approve with these arguments").click()
    expect(reviews.locator("#notices")).to_contain_text("amount")
    reviews.get_by_label("amount").fill("12.50")
    reviews.get_by_role("button", name="Approve with these arguments").click()

    expect(reviews).to_have_url(re.compile(r"/desk/reviews/$"))
    expect(customer.locator('[data-hil="message"][data-sender="ai"]').last).to_contain_text("12.5", timeout=30_000)
    assert DemoOrder.objects.get(number="100234").refunded_amount == Decimal("12.50")
