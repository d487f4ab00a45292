"""An admin opens the console's admin and reads the dashboard in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from agents.pipelines import turns
from conversations import services
from hilconsole.rollups import rollups_refresh

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_reads_the_dashboard_with_its_charts_and_picks_a_period_and_inbox(page, site_admin,
                                                                                   live_support_inbox):  # fmt: skip
    for number, text in enumerate(["How long does shipping take?", "I want to talk to a human"]):
        conversation, _, _ = services.conversation_open(live_support_inbox, name=f"Cleo {number}")
        services.message_post_from_customer(conversation.pk, content=text, client_message_id="c-1",
                                            request_ai_turn=False)  # fmt: skip
        turns.turn_run(conversation.pk)
    rollups_refresh()

    page.goto("/admin/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name=re.compile("Operations · today"))).to_be_visible()
    expect(page.locator("#kpi-ai-turns")).to_have_text("2")
    expect(page.locator("#kpi-auto-resolution")).to_have_text("100%")
    chart = page.get_by_role("img", name="Handovers by reason")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] > 200
    expect(chart).to_contain_text("human_request")
    expect(page.get_by_role("img", name="LLM cost by day")).to_be_visible()

    page.get_by_label("Period", exact=False).and_(page.get_by_role("combobox")).select_option("7d")
    page.get_by_label("Inbox", exact=False).and_(page.get_by_role("combobox")).select_option(label="Support")
    page.get_by_role("button", name="Show").click()

    expect(page.get_by_role("heading", name="Operations · 7 days · Support")).to_be_visible()
    expect(page.locator("#kpi-ai-turns")).to_have_text("2")
    assert "period=7d" in page.url
