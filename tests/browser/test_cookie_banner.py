"""The cookie banner in a real browser with JavaScript off."""

import pytest
from playwright.sync_api import expect

from compliance.models import CookieConsent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NECESSARY = {"csrftoken", "sessionid", "levqor_consent"}


def cookie_names(page):
    return {c["name"] for c in page.context.cookies()}


def test_no_optional_cookie_before_consent_and_reject_all_works_without_javascript(live_server, page):
    page.goto(f"{live_server.url}/pricing")
    banner = page.locator("#cookie-banner")
    expect(banner).to_be_visible()
    accept = banner.get_by_role("button", name="Accept all")
    reject = banner.get_by_role("button", name="Reject all")
    # As easy to refuse as to accept: same size, same look.
    assert reject.bounding_box()["height"] == accept.bounding_box()["height"]
    assert reject.evaluate("b => getComputedStyle(b).backgroundColor") == accept.evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
    assert cookie_names(page) <= {"csrftoken"}

    reject.click()

    expect(page).to_have_url(f"{live_server.url}/pricing")
    expect(page.locator("#cookie-banner")).to_have_count(0)
    assert cookie_names(page) <= NECESSARY and "levqor_consent" in cookie_names(page)
    record = CookieConsent.objects.get()
    assert record.mechanism == "reject_all" and not (record.analytics or record.marketing or record.functional)


def test_preferences_can_be_changed_from_the_footer(live_server, page):
    page.goto(f"{live_server.url}/")
    page.locator("#cookie-banner").get_by_role("button", name="Accept all").click()
    page.locator("footer").get_by_role("link", name="Cookie preferences").click()
    expect(page.get_by_role("heading", name="Cookie preferences")).to_be_visible()
    assert page.get_by_label("Analytics").is_checked()

    page.get_by_label("Analytics").uncheck()
    page.get_by_role("button", name="Save my choices").click()

    latest = CookieConsent.objects.order_by("-created_at", "-pk").first()
    assert latest.mechanism == "custom" and latest.functional and not latest.analytics
    assert CookieConsent.objects.values("consent_id").distinct().count() == 1
