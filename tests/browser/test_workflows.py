"""The back office in headless Chromium, on the real ASGI server and a live Celery worker: Rita
decides a risky refund claim on her review desk (the caller's callback gets the decision once),
and an analysis page shows its progress live while the workers map the document, then its report."""

import re

import pytest
from playwright.sync_api import expect

from agents.models import Application, RunItem
from agents.workflows import services
from agents.workflows.documents import document_text
from tests.agents.openai_server import OpenAIServer
from tests.agents.test_applications_live import apply, reaches
from tests.agents.test_document_analysis_live import analyst  # noqa: F401  (a fixture)
from tests.agents.workflows import api_client, back_office, document
from tests.browser.test_desk import desk_of
from tests.callbacks import CallbackReceiver
from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rita(reviewer):
    back_office(reviewer)
    return reviewer


def test_rita_decides_a_risky_claim_in_the_browser_and_the_decision_is_called_back_once(
    new_page, live_server_url, live_worker, rita, demo_orders_committed
):
    reviews = desk_of(new_page, live_server_url, rita)
    reviews.goto("/desk/reviews/")
    expect(reviews.locator('[ws-connect][data-socket="open"]')).to_be_attached()
    with CallbackReceiver() as receiver, api_client(live_server_url, rita) as api:
        application_id = apply(api, receiver, "shop-marc", "Order number: 100412\nAmount: €120.00\nReason: lost")

        row = reviews.locator("#review-list li", has_text=f"Application #{application_id}: Refund claim")
        expect(row).to_be_visible(timeout=30_000)  # pushed live, no reload
        row.get_by_role("link").click()
        expect(reviews.locator("#risk-factors")).to_contain_text("The claim is over €100.")
        expect(reviews.locator("#fields")).to_contain_text("100412")
        expect(reviews.locator("#recommendation")).to_contain_text("Approve")
        reviews.get_by_label("Your reasons (recorded with the decision)").first.fill("Carrier confirmed the loss.")
        reviews.get_by_role("button", name="Approve", exact=True).click()

        expect(reviews).to_have_url(re.compile(r"/desk/reviews/$"))
        application = reaches(application_id, "approved", "rejected")
        assert (application.status, application.decided_by) == ("approved", "Rita")
        assert application.decision_reasons == ["Carrier confirmed the loss."]
        wait_until(lambda: receiver.calls, "the callback")
        page = new_page()
        page.context.add_cookies(reviews.context.cookies())
        page.goto(f"/desk/applications/{application_id}/")
        expect(page.locator("#decision")).to_contain_text("Approved by Rita")
        assert [called["decision"]["decided_by"] for called in receiver.decisions()] == ["Rita"]
    assert Application.objects.get(pk=application_id).callback_attempts == 1


def test_an_analysis_page_shows_the_progress_live_and_then_the_report(
    new_page,
    live_server_url,
    live_worker,
    rita,
    analyst: OpenAIServer,  # noqa: F811
):
    inbox, (workflow, _) = back_office(rita)
    analyst.gate("analyst")
    analysis = services.analysis_submit(rita, workflow=workflow, inbox=inbox, title="Lease", requires_signoff=False,
                                        document=document_text(document(10).encode()))  # fmt: skip
    page = desk_of(new_page, live_server_url, rita)
    page.goto(f"/desk/analyses/{analysis.pk}/")
    for _ in range(2):
        analyst.next_call("analyst")
        analyst.let_through("analyst")
    wait_until(lambda: RunItem.objects.filter(status="done").count() == 2, "two chunks")

    expect(page.locator(".progress-count")).to_contain_text("2 of 5 chunks analysed")  # no reload
    for _ in range(3):
        analyst.let_through("analyst")  # the three chunks left
    analyst.gates.pop("analyst")
    expect(page.locator("#executive-summary")).to_be_visible(timeout=30_000)
    expect(page.locator(".findings")).to_contain_text("Section 1.")
    expect(page.locator(".status-badge")).to_have_text("Final")
