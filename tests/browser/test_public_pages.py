import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from levqor import plans

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pricing_shows_the_locked_facts_in_a_real_browser_without_javascript(live_server, page):
    page.goto(f"{live_server.url}/pricing")

    assert page.title() == "Pricing · Levqor"
    for plan in plans.PLANS:
        card = page.locator(f'[data-fact="plan-{plan.code}"]')
        expect(card).to_be_visible()
        text = card.inner_text()
        assert f"£{plan.monthly}" in text and f"£{plan.yearly}" in text and f"{plan.support_sla_hours} h" in text
    for tier in plans.DFY_TIERS:
        assert f"£{tier.price}" in page.locator(f'[data-fact="dfy-{tier.code}"]').inner_text()
    expect(page.get_by_text(plans.TRIAL_TEXT).first).to_be_visible()
    # The project's own stylesheet is served and applied (no CDN involved).
    footer_bg = page.locator("footer").evaluate("el => getComputedStyle(el).backgroundColor")
    assert footer_bg == "rgb(244, 246, 249)"


def test_a_customer_signs_in_with_the_emailed_link(live_server, page, customer):
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", customer.email)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(\S+)", mail.outbox[0].body).group(1)
    page.goto(f"{live_server.url}{link}")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server.url}/account")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    assert "Acme Ltd" in page.locator("main").inner_text()


def test_the_footer_reaches_every_public_page(live_server, page):
    page.goto(f"{live_server.url}/")
    hrefs = page.locator("footer a[href^='/']").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert len(hrefs) >= 8
    for href in hrefs:
        response = page.goto(f"{live_server.url}{href}")
        assert response.status == 200, href
        assert page.locator("h1").count() == 1, href
