"""The pricing page's conversion aids in Chromium, with and without
JavaScript: the ROI calculator and the "Not ready yet?" prompt. No price
changes either way."""

import pytest
from playwright.sync_api import expect

from levqor import plans

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _prices(page) -> list[str]:
    return [page.locator(f'[data-fact="plan-{plan.code}"] .price').inner_text() for plan in plans.PLANS]


def test_the_roi_form_works_without_javascript(live_server, page):
    page.goto(f"{live_server.url}/pricing")
    before = _prices(page)
    assert page.locator(".roi-result").is_hidden()

    page.fill("input[name=hours]", "10")
    page.fill("input[name=rate]", "30")
    page.get_by_role("button", name="Work it out").click()

    expect(page.locator(".roi-result")).to_have_text("That is 43.3 hours and £1,300 a month.")
    assert "hours=10" in page.url and "rate=30" in page.url  # the server answered the GET form
    assert _prices(page) == before


def test_bad_roi_input_is_a_form_error_without_javascript(live_server, page):
    page.goto(f"{live_server.url}/pricing?hours=500&rate=20")

    assert "less than or equal to 168" in page.locator("#roi").inner_text()
    assert page.locator(".roi-result").is_hidden()


def test_the_roi_calculator_answers_as_you_type_with_javascript(live_server, js_page):
    js_page.goto(f"{live_server.url}/pricing")

    js_page.fill("input[name=hours]", "10")
    js_page.fill("input[name=rate]", "30")

    assert js_page.locator(".roi-result").inner_text() == "That is 43.3 hours and £1,300 a month."
    assert js_page.url == f"{live_server.url}/pricing"  # no round trip
    js_page.fill("input[name=hours]", "")
    assert js_page.locator(".roi-result").is_hidden()


def test_not_ready_is_a_plain_dismissible_aside_without_javascript(live_server, page):
    page.goto(f"{live_server.url}/pricing")
    aside = page.locator("#not-ready")

    expect(aside).to_be_visible()
    assert plans.TRIAL_TEXT in aside.inner_text()
    expect(aside.get_by_role("link", name="Start your free trial")).to_be_visible()
    aside.get_by_role("link", name="Dismiss").click()

    expect(page).to_have_url(f"{live_server.url}/pricing")
    expect(page.locator("#not-ready")).to_have_count(0)
    page.reload()
    assert page.locator("#not-ready").count() == 0


LEAVE = "document.dispatchEvent(new MouseEvent('mouseout', {clientX: 300, clientY: 0, bubbles: true}))"


def test_not_ready_waits_for_exit_intent_and_shows_once_a_visit_with_javascript(live_server, js_page):
    js_page.goto(f"{live_server.url}/pricing")
    aside = js_page.locator("#not-ready")
    assert aside.is_hidden()

    js_page.evaluate(LEAVE)

    assert aside.is_visible() and aside.get_attribute("role") == "dialog"
    assert plans.TRIAL_TEXT in aside.inner_text()
    aside.get_by_role("link", name="Dismiss").click()
    expect(aside).to_be_hidden()
    assert js_page.url == f"{live_server.url}/pricing"

    js_page.reload()
    js_page.evaluate(LEAVE)
    assert js_page.locator("#not-ready").is_hidden()  # never more than once a visit
