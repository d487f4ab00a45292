"""A support agent signs in to the desk in a real browser, keyboard only."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_signs_in_with_the_keyboard_and_lands_on_the_desk(page, support_agent):
    page.goto("/desk/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/desk/$"))

    page.keyboard.type("ana")  # the username field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type("pw")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Desk")).to_be_visible()
    expect(page.get_by_text("No conversations are waiting for a human")).to_be_visible()
    assert page.url.endswith("/desk/")
    # The vendored htmx and its WebSocket extension are served and loaded (deferred scripts
    # run after the page is shown, so wait for the load event).
    page.wait_for_load_state("load")
    assert page.evaluate("htmx.version") == "2.0.11"
    assert page.evaluate("typeof htmx.createWebSocket") == "function"


def test_wrong_password_keeps_the_agent_on_the_sign_in_form_with_an_error(page, support_agent):
    page.goto("/accounts/login/")

    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
    expect(page.get_by_label("Username")).to_have_value("ana")
