"""The staff console in a real browser at 1400 px: the index grouped by the
work, and the wide triage lists fitting the screen without being cut off."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from .site import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTS = [
    "/admin/billing/dunningcase/",
    "/admin/support/slacreditrequest/",
    "/admin/support/dispute/",
    "/admin/compliance/dataexport/",
    "/admin/compliance/erasurerequest/",
    "/admin/compliance/auditevent/",
    "/admin/workflows/run/",
]


@pytest.mark.slow
def test_the_triage_lists_fit_a_1400_px_screen(live_server, browser, staff, settings):
    settings.DEBUG = True  # seed_demo's demo password
    call_command("seed_demo")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    sign_in(context, live_server, staff)
    page = context.new_page()
    too_wide = []
    for path in LISTS:
        page.goto(f"{live_server.url}{path}")
        sizes = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.querySelector('.results').scrollWidth,"
            " document.querySelector('.results').clientWidth]"
        )
        if sizes[0] > 1400 or sizes[1] > sizes[2]:
            too_wide.append(f"{path}: {sizes}")
        screenshot(page, f"admin-{path.strip('/').replace('/', '_')}-1400")
    context.close()
    assert too_wide == []


def test_the_index_puts_the_queues_on_the_first_screen(live_server, browser, staff):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    sign_in(context, live_server, staff)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/")
    screenshot(page, "admin-index-1400")
    assert page.locator("#needs-attention").bounding_box()["y"] < 200
    assert page.locator("#nav-sidebar").count() == 0
    page.get_by_role("link", name="Stripe data, read-only").click()
    expect(page).to_have_url(f"{live_server.url}/admin/djstripe/")
    context.close()
