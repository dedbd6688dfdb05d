"""Buying a done-for-you build end to end: "Order the Pro build" on /pricing
→ a Stripe Checkout Session in payment mode (localstripe, with the one-off
catalogue price) → the customer pays (a real PaymentIntent in localstripe)
→ `checkout.session.completed`, signed, through the real webhook view → one
DFY order, paid, awaiting the brief, audited, and one "received" email.
Stripe delivering again, or its async-payment event for the same session,
changes nothing."""

import copy
import http.client
import json
from io import StringIO

import pytest
import stripe
from django.core.management import CommandError, call_command
from django.urls import reverse

from billing.models import StripeEvent
from billing.tests.conftest import SECRET_KEY, event
from compliance.models import AuditEvent, OutboundEmail
from support.models import DfyOrder

pytestmark = pytest.mark.django_db


def ls_call(method: str, path: str, body: str = "") -> dict:
    conn = http.client.HTTPConnection(stripe.api_base.split("//")[1], timeout=5)
    conn.request(
        method,
        path,
        body=body or None,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Bearer {SECRET_KEY}"},
    )
    response = conn.getresponse()
    data = json.loads(response.read() or b"{}")
    assert response.status == 200, data
    return data


@pytest.fixture(autouse=True)
def fresh_stripe(localstripe):
    conn = http.client.HTTPConnection(localstripe.split("//")[1], timeout=5)
    conn.request("DELETE", "/_config/data")
    assert conn.getresponse().status == 200


@pytest.fixture
def prices(stripe_settings, db) -> dict[str, str]:
    out = StringIO()
    call_command("stripe_prices", stdout=out)
    return {line.split("\t")[0]: line.split("\t")[1] for line in out.getvalue().splitlines()}


def order_build(client, tier: str) -> str:
    response = client.post(reverse("support:dfy_checkout"), {"tier": tier})
    assert response.status_code == 303, response.content
    assert response["Location"].startswith("https://checkout.stripe.com/")
    return response["Location"].rsplit("/", 1)[1]


def pay(ls, session_id: str, *, email: str, amount: int) -> dict:
    """What Stripe does when the customer pays by card: a customer, a
    succeeded PaymentIntent for the session's amount, the session completed."""
    customer = ls.customer(email=email)
    card = ls.card(customer.id, "4242424242424242")
    intent = stripe.PaymentIntent.create(
        amount=amount, currency="gbp", customer=customer.id, payment_method=card.id, confirm=True, api_key=SECRET_KEY
    )
    assert intent.status == "succeeded"
    return ls_call(
        "POST",
        f"/_levqor/checkout/sessions/{session_id}/complete",
        f"customer={customer.id}&payment_intent={intent.id}&email={email}&name=Acme",
    )


def test_the_pricing_page_offers_each_tier_and_needs_a_sign_in(client, db):
    html = client.get(reverse("pages:pricing")).content.decode()
    for tier in ("starter", "pro", "enterprise"):
        assert f'data-dfy-checkout="{tier}"' in html
    response = client.post(reverse("support:dfy_checkout"), {"tier": "pro"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert client.post(reverse("support:dfy_checkout"), {"tier": "platinum"}).status_code == 400


def test_a_paid_dfy_checkout_becomes_one_order_awaiting_the_brief(client, customer, prices, ls, deliver):
    assert prices["levqor_dfy_pro"]
    price = stripe.Price.retrieve(prices["levqor_dfy_pro"], api_key=SECRET_KEY)
    assert (price.unit_amount, price.currency, price.recurring, price.type) == (29900, "gbp", None, "one_time")

    client.force_login(customer)
    session_id = order_build(client, "pro")
    params = ls_call("GET", f"/_levqor/checkout/sessions/{session_id}/params")
    assert params["mode"] == "payment"
    assert params["line_items"] == [{"price": prices["levqor_dfy_pro"], "quantity": "1"}]
    assert params["payment_method_types"] == ["card"]
    assert params["metadata"] == {
        "levqor_purchase": "dfy",
        "dfy_tier": "pro",
        "account": str(customer.account_id),
        "user": str(customer.pk),
    }
    assert params["customer_email"] == customer.email and params["customer_creation"] == "always"
    assert params["success_url"].endswith("/dfy/orders?session_id={CHECKOUT_SESSION_ID}")

    session = pay(ls, session_id, email=customer.email, amount=29900)
    assert session["payment_status"] == "paid"
    completed = event("checkout.session.completed", session)
    assert deliver(completed).status_code == 200
    record = StripeEvent.objects.get(type="checkout.session.completed")
    assert record.status == "processed", record.last_error
    order = DfyOrder.objects.get()
    assert record.note == f"DFY order #{order.pk} (pro) created, paid"
    assert (order.account_id, order.tier, order.price, order.workflows) == (customer.account_id, "pro", 299, 3)
    assert order.status == "awaiting-brief" and order.paid_at is not None
    assert (order.stripe_checkout_session_id, order.stripe_payment_intent_id) == (session_id, session["payment_intent"])
    assert (order.amount_paid_minor, order.currency, order.stripe_customer_id) == (29900, "GBP", session["customer"])
    audit = AuditEvent.objects.filter(target_id=str(order.pk), target_type="support.dfyorder")
    assert sorted(audit.values_list("action", flat=True)) == ["email.sent", "support.dfy.created", "support.dfy.step"]
    assert audit.get(action="support.dfy.step").details["stripe_event"] == completed["id"]
    email = OutboundEmail.objects.get(kind="support.dfy-received")
    assert email.to == customer.email and email.status == "sent"

    # Stripe delivers again, and sends the async-payment event for the same session: still one order, one email.
    deliver(completed)
    again = copy.deepcopy(session)
    deliver(event("checkout.session.async_payment_succeeded", again))
    assert DfyOrder.objects.count() == 1
    assert OutboundEmail.objects.filter(kind="support.dfy-received").count() == 1
    assert StripeEvent.objects.get(type="checkout.session.async_payment_succeeded").note.endswith(
        "already recorded, paid"
    )

    # The customer sees it.
    page = client.get(reverse("support:dfy_orders"), {"session_id": session_id}).content.decode()
    assert f"#{order.pk}" in page and "Awaiting brief and access" in page


def test_a_subscription_checkout_still_makes_no_order(client, prices, ls, deliver):
    """The trial's checkout (subscription mode) goes on to billing's sign-up, not to DFY."""
    response = client.post(reverse("billing:checkout"), {"plan": "growth", "interval": "monthly"})
    session_id = response["Location"].rsplit("/", 1)[1]
    customer = ls.customer(email="nina@new.test")
    ls.card(customer.id, "4242424242424242")
    params = ls_call("GET", f"/_levqor/checkout/sessions/{session_id}/params")
    sub = stripe.Subscription.create(
        customer=customer.id, items=[{"plan": params["line_items"][0]["price"]}], api_key=SECRET_KEY
    )
    session = ls_call(
        "POST",
        f"/_levqor/checkout/sessions/{session_id}/complete",
        f"customer={customer.id}&subscription={sub.id}&email=nina@new.test&name=Nina",
    )
    deliver(event("checkout.session.completed", session))
    assert not DfyOrder.objects.exists()
    assert StripeEvent.objects.get(type="checkout.session.completed").note.startswith("new customer")


def test_staff_and_an_unreachable_stripe_are_told_so(client, staff, customer, prices, monkeypatch):
    client.force_login(staff)
    response = client.post(reverse("support:dfy_checkout"), {"tier": "starter"})
    assert response.status_code == 400 and "sign in as the customer" in response.content.decode()
    client.force_login(customer)
    monkeypatch.setattr(stripe, "api_base", "http://127.0.0.1:9")
    monkeypatch.setattr(stripe, "max_network_retries", 0)  # SDK retries would wait 1.5 s to fail alike
    response = client.post(reverse("support:dfy_checkout"), {"tier": "starter"})
    assert response.status_code == 503 and "could not reach" in response.content.decode()


def test_a_one_off_stripe_price_that_differs_from_the_dfy_catalogue_is_refused(stripe_settings, db, ls):
    product = stripe.Product.create(id="levqor_dfy_pro", name="DFY Pro", type="service", api_key=SECRET_KEY)
    stripe.Price.create(
        product=product.id, unit_amount=19900, currency="gbp", lookup_key="levqor_dfy_pro", api_key=SECRET_KEY
    )
    try:
        with pytest.raises(CommandError, match="catalogue says 29900 gbp per purchase"):
            call_command("stripe_prices", stdout=StringIO())
    finally:  # the wrong price must not outlive this test in the session's localstripe
        ls_call("DELETE", "/_config/data", "")
