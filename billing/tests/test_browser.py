"""In Chromium: "Start free trial" on /pricing lands on Stripe Checkout (the
session made in localstripe; Stripe's page itself is stubbed, the machine is
offline), and /billing shows the card and the invoices."""

import http.client
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def empty_stripe(localstripe, stripe_settings):
    conn = http.client.HTTPConnection(localstripe.split("//")[1], timeout=5)
    conn.request("DELETE", "/_config/data")
    assert conn.getresponse().status == 200
    call_command("stripe_prices", stdout=StringIO())


def test_start_free_trial_goes_to_stripe_checkout(live_server, page, empty_stripe):
    landed = []

    def checkout(route):
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Stripe Checkout</h1>")

    page.route("https://checkout.stripe.com/**", checkout)
    page.goto(f"{live_server.url}/pricing")
    page.locator('[data-checkout="growth-yearly"]').click()
    page.wait_for_url("https://checkout.stripe.com/**")
    assert landed and landed[0].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    assert page.locator("h1").inner_text() == "Stripe Checkout"


def test_the_billing_page_shows_the_card_and_invoices(live_server, page, paying):
    client = Client()
    client.force_login(paying)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page.goto(f"{live_server.url}/billing")
    assert "Visa ending in 4242, expires 12/2034" in page.locator("#payment-method").inner_text()
    rows = page.locator("#invoices tbody tr")
    assert rows.count() == 1
    assert "£29.00" in rows.first.inner_text() and "Paid" in rows.first.inner_text()
    assert page.get_by_role("button", name="Manage billing").is_visible()
