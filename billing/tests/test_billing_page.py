"""/billing as a billing page: plan, trial, next invoice, card and invoices
from the dj-stripe mirror (synced from localstripe by dj-stripe itself), and
"Manage billing" → a Stripe Billing Portal session."""

import http.client
import json

import stripe
from django.urls import reverse
from djstripe.models import Invoice

from .conftest import SECRET_KEY


def ls_get(path: str) -> dict:
    conn = http.client.HTTPConnection(stripe.api_base.split("//")[1], timeout=5)
    conn.request("GET", path, headers={"Authorization": f"Bearer {SECRET_KEY}"})
    response = conn.getresponse()
    assert response.status == 200
    return json.loads(response.read())


def test_it_shows_plan_next_invoice_card_and_invoices(client, paying):
    client.force_login(paying)
    body = client.get(reverse("billing:overview")).content.decode()
    assert "Growth, billed monthly" in body
    assert "Visa ending in 4242, expires 12/2034" in body
    assert "Next invoice" in body and "£29.00" in body
    invoice = Invoice.objects.get()
    assert f"https://invoice.stripe.com/i/localstripe/{invoice.id}" in body
    assert f"https://pay.stripe.com/invoice/localstripe/{invoice.id}/pdf" in body
    assert "Paid" in body
    assert "Manage billing" in body


def test_another_customer_sees_none_of_it(client, paying, other_customer):
    client.force_login(other_customer)
    body = client.get(reverse("billing:overview")).content.decode()
    assert "4242" not in body and "invoice.stripe.com" not in body and "Manage billing" not in body


def test_manage_billing_opens_a_portal_session_for_the_customer(client, paying):
    client.force_login(paying)
    response = client.post(reverse("billing:portal"))
    assert response.status_code == 303
    assert response["Location"].startswith("https://billing.stripe.com/p/session/")
    session_id = "bps_" + response["Location"].rsplit("/test_", 1)[1]
    session = ls_get(f"/_levqor/billing_portal/sessions/{session_id}")
    assert session["customer"] == paying.account.stripe_customer_id
    assert session["return_url"] == "http://testserver" + reverse("billing:overview")


def test_manage_billing_without_a_stripe_customer_says_so(client, customer):
    client.force_login(customer)
    response = client.post(reverse("billing:portal"))
    assert response.status_code == 503
    assert "no billing details" in response.content.decode()
