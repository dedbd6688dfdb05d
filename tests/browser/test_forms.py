"""Customer forms in a real browser: one style (label above the field, the
error beside it), only the fields that apply, UK dates, the API key shown
once after a redirect, a copy button where JavaScript runs, and revocation
behind a confirmation."""

import re

import pytest
from playwright.sync_api import expect

from levqor.api.models import ApiKey
from support.models import SlaCreditRequest

from .site import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def customer_page(live_server, browser, customer):
    context = browser.new_context(java_script_enabled=False)
    sign_in(context, live_server, customer)
    page = context.new_page()
    yield page
    context.close()


def _above(label, field) -> bool:
    return label.bounding_box()["y"] + label.bounding_box()["height"] <= field.bounding_box()["y"]


def test_the_sla_form_shows_only_the_fields_that_apply_without_javascript(live_server, customer_page):
    page = customer_page
    page.goto(f"{live_server.url}/sla-credits")
    form = page.locator("#sla-credit-form")
    assert form.locator("[name=plan]").count() == 0
    assert form.locator("#plan-value").inner_text() == "Growth"
    month = form.get_by_label("Month", exact=True)
    assert month.is_visible() and form.get_by_label("Date of the incident").is_hidden()
    assert month.evaluate("el => el.tagName") == "SELECT"
    assert re.fullmatch(r"[A-Z][a-z]+ \d{4}", month.locator("option").nth(1).inner_text())
    assert _above(form.locator("label[for=id_description]"), form.get_by_label("Description"))

    form.get_by_label("One day (incident date)").check()

    assert month.is_hidden()
    date = form.get_by_label("Date of the incident")
    assert date.is_visible() and date.get_attribute("placeholder") == "dd/mm/yyyy"


def test_the_sla_form_puts_each_error_beside_its_field_and_takes_a_uk_date(live_server, customer_page):
    page = customer_page
    page.goto(f"{live_server.url}/sla-credits")
    form = page.locator("#sla-credit-form")
    form.get_by_label("One day (incident date)").check()
    form.get_by_label("Date of the incident").fill("31/02/2026")
    form.get_by_role("button", name="Send request").click()

    form = page.locator("#sla-credit-form")
    date_field = form.locator(".field-incident_date")
    assert "Enter a real date as dd/mm/yyyy" in date_field.locator(".field-error").inner_text()
    expect(form.locator(".field-impact .field-error")).to_be_visible()
    expect(form.locator(".field-description .field-error")).to_be_visible()
    assert form.get_by_label("Date of the incident").get_attribute("aria-invalid") == "true"
    expect(form.get_by_label("Date of the incident")).to_be_visible()  # the chosen kind is kept

    from django.utils import timezone

    yesterday = timezone.now().date() - timezone.timedelta(days=1)
    form.get_by_label("Date of the incident").fill(yesterday.strftime("%d/%m/%Y"))
    form.get_by_label("Major").check()
    form.get_by_label("Description").fill("The console was down for an afternoon.")
    form.get_by_role("button", name="Send request").click()

    expect(page).to_have_url(re.compile(r"/sla-credits/\d+$"))
    request = SlaCreditRequest.objects.get()
    assert page.url == f"{live_server.url}/sla-credits/{request.pk}"
    assert request.period_start == yesterday


def test_a_new_api_key_is_shown_once_after_a_redirect(live_server, customer_page):
    page = customer_page
    page.goto(f"{live_server.url}/account/api-keys")
    page.get_by_label("Name").fill("CRM sync")
    page.get_by_role("radio", name="Live").check()
    page.get_by_role("button", name="Create key").click()

    expect(page).to_have_url(f"{live_server.url}/account/api-keys/new")
    secret = page.locator("#new-key").inner_text()
    assert secret.startswith("lvq_live_")
    assert page.get_by_role("button", name="Copy key").is_hidden()  # no JavaScript: select and copy by hand

    page.reload()

    expect(page).to_have_url(f"{live_server.url}/account/api-keys")
    assert secret not in page.content() and "shown only once" in page.content()
    assert ApiKey.objects.count() == 1


def test_the_copy_button_copies_the_key_where_javascript_runs(live_server, browser, customer):
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(context, live_server, customer)
    page = context.new_page()
    page.goto(f"{live_server.url}/account/api-keys")
    page.get_by_label("Name").fill("CRM sync")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key").inner_text()

    page.get_by_role("button", name="Copy key").click()

    expect(page.locator("#new-key-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    context.close()


def test_revoking_a_key_asks_first_and_says_what_breaks(live_server, customer_page, customer):
    from levqor.api.services import api_key_create

    key = api_key_create(account=customer.account, name="CRM sync", mode="live", actor=customer).key
    page = customer_page
    page.goto(f"{live_server.url}/account/api-keys")

    page.get_by_role("link", name="Revoke… CRM sync").click()

    expect(page.locator("main")).to_contain_text("401 Unauthorized")
    assert "cannot be undone" in page.locator("main").inner_text()
    page.get_by_role("link", name="Cancel, keep the key").click()
    assert ApiKey.objects.get(pk=key.pk).state() == "active"

    page.get_by_role("link", name="Revoke… CRM sync").click()
    page.get_by_role("button", name="Revoke this key now").click()

    expect(page).to_have_url(f"{live_server.url}/account/api-keys")
    assert ApiKey.objects.get(pk=key.pk).state() == "revoked"
