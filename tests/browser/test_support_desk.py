"""The ticket desk in a real browser (no JavaScript): a customer opens a
ticket at /support and reads the thread; staff find the customer from the
admin index and see the ticket on the customer's page."""

import re

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from support.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def test_a_customer_opens_a_ticket_and_reads_its_thread(live_server, page, customer):
    _sign_in(page, live_server, customer)
    page.goto(f"{live_server.url}/support")
    assert "24 hours" in page.locator("#new-ticket").inner_text()  # Growth's first-response time
    page.fill("input[name=subject]", "Runs stuck")
    page.fill("textarea[name=body]", "Run 812 has been queued since 09:10.")
    page.get_by_role("button", name="Open ticket").click()

    expect(page).to_have_url(re.compile(r"/support/tickets/\d+$"))
    ticket = Ticket.objects.get()
    assert page.url == f"{live_server.url}/support/tickets/{ticket.pk}"
    main = page.locator("main").inner_text()
    assert "Run 812 has been queued since 09:10." in main and "First response due by" in main
    page.fill("textarea[name=body]", "It is still queued.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("main")).to_contain_text("It is still queued.")


def test_staff_find_the_customer_and_see_their_ticket(live_server, page, staff, customer, customer_account):
    from support import services

    ticket = services.ticket_open(
        account=customer_account, user=customer, subject="Billing question", body="Which card?", actor=customer
    )
    _sign_in(page, live_server, staff)
    page.goto(f"{live_server.url}/admin/")
    page.fill("#customer-q", customer.email)
    page.locator("#customer-search button").click()
    expect(page.get_by_role("heading", name="Customer: Acme Ltd")).to_be_visible()
    tickets = page.locator("#customer-tickets")
    assert "Billing question" in tickets.inner_text()
    tickets.get_by_role("link", name=f"#{ticket.pk}").click()
    expect(page.locator("#content")).to_contain_text("Which card?")
