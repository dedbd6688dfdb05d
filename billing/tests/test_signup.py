"""Starting the trial: /pricing → Stripe Checkout (localstripe, patched with
Checkout Sessions that record the parameters they were created with) →
`checkout.session.completed`, signed, through the real webhook view →
account, plan, trial and a sign-in link in the outbox."""

import http.client
import json
import types
from io import StringIO

import pytest
import stripe
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from billing import webhooks
from billing.models import StripeEvent
from compliance.models import AbuseSignal, AuditEvent, OutboundEmail
from levqor.accounts.models import Account, User
from levqor.lib import ratelimit
from levqor.plans import TRIAL_TEXT

from .conftest import SECRET_KEY, current_subscription, event

GOOD_CARD = "4242424242424242"


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
    """Each test starts with an empty localstripe (prices are found by lookup
    key) and leaves it empty: the worker's localstripe serves the tests of
    other modules after it, and a price left here at another amount (the
    refusal test's) made their `stripe_prices` fail."""

    def empty() -> None:
        conn = http.client.HTTPConnection(localstripe.split("//")[1], timeout=5)
        conn.request("DELETE", "/_config/data")
        assert conn.getresponse().status == 200

    empty()
    yield
    empty()


@pytest.fixture
def prices(stripe_settings, db) -> dict[str, str]:
    out = StringIO()
    call_command("stripe_prices", stdout=out)
    return {line.split("\t")[0]: line.split("\t")[1] for line in out.getvalue().splitlines()}


def start(client, plan="growth", interval="yearly"):
    response = client.post(reverse("billing:checkout"), {"plan": plan, "interval": interval})
    assert response.status_code == 303, response.content
    session_id = response["Location"].rsplit("/", 1)[1]
    return response, session_id


def pay(ls, session_id: str, *, email: str, customer_id: str | None = None, trial: bool = True) -> dict:
    """What Stripe does when the customer pays: a customer with a card, the
    subscription (trialing), the session completed."""
    params = ls_call("GET", f"/_levqor/checkout/sessions/{session_id}/params")
    customer_id = customer_id or ls.customer(email=email).id
    ls.card(customer_id, GOOD_CARD)
    extra = {"trial_period_days": 7} if trial else {}
    subscription = stripe.Subscription.create(
        customer=customer_id, items=[{"plan": params["line_items"][0]["price"]}], api_key=SECRET_KEY, **extra
    )
    return ls_call(
        "POST",
        f"/_levqor/checkout/sessions/{session_id}/complete",
        f"customer={customer_id}&subscription={subscription.id}&email={email}&name=Nina+New",
    )


def test_it_shows_start_buttons_and_the_trial_sentence_on_pricing(client, db):
    html = client.get(reverse("pages:pricing")).content.decode()
    for plan in ("starter", "growth", "pro", "business"):
        for interval in ("monthly", "yearly"):
            assert f'data-checkout="{plan}-{interval}"' in html
    assert html.count("Start free trial") == 8
    assert html.count(TRIAL_TEXT.replace("•", "&bull;")) + html.count(TRIAL_TEXT) >= 5


def test_it_creates_or_finds_the_catalogue_prices_once(prices, stripe_settings):
    assert len(prices) == 11  # 4 plans × 2 intervals, and the 3 DFY tiers (one-off)
    assert set(prices) >= {"levqor_starter_monthly", "levqor_business_yearly", "levqor_dfy_enterprise"}
    price = stripe.Price.retrieve(prices["levqor_growth_yearly"], api_key=SECRET_KEY)
    assert (price.unit_amount, price.currency, price.recurring.interval) == (29000, "gbp", "year")
    out = StringIO()
    call_command("stripe_prices", stdout=out)
    assert out.getvalue().count("\tfound") == 11
    assert {line.split("\t")[1] for line in out.getvalue().splitlines()} == set(prices.values())


def test_it_refuses_a_stripe_price_that_differs_from_the_catalogue(stripe_settings, db, ls):
    product = stripe.Product.create(name="Starter", type="service", api_key=SECRET_KEY)
    stripe.Price.create(
        product=product.id,
        unit_amount=1000,
        currency="gbp",
        recurring={"interval": "month"},
        lookup_key="levqor_starter_monthly",
        api_key=SECRET_KEY,
    )
    with pytest.raises(CommandError, match="catalogue says 900 gbp"):
        call_command("stripe_prices", stdout=StringIO())


def test_it_starts_checkout_with_trial_card_required_and_catalogue_price(client, prices):
    response, session_id = start(client, "growth", "yearly")
    assert response["Location"].startswith("https://checkout.stripe.com/")
    params = ls_call("GET", f"/_levqor/checkout/sessions/{session_id}/params")
    assert params["mode"] == "subscription"
    assert params["payment_method_collection"] == "always"
    assert params["line_items"] == [{"price": prices["levqor_growth_yearly"], "quantity": "1"}]
    assert params["subscription_data"]["trial_period_days"] == "7"
    assert params["metadata"] == {"plan": "growth", "interval": "yearly", "trial": "1"}
    assert params["success_url"].endswith("/billing/welcome?session_id={CHECKOUT_SESSION_ID}")
    assert params["cancel_url"].endswith("/pricing")
    assert "customer" not in params


def test_it_answers_400_for_a_plan_not_in_the_catalogue(client, db):
    response = client.post(reverse("billing:checkout"), {"plan": "platinum", "interval": "monthly"})
    assert response.status_code == 400
    response = client.post(reverse("billing:checkout"), {"plan": "growth", "interval": "weekly"})
    assert response.status_code == 400


def test_it_says_so_when_stripe_cannot_be_reached(client, prices, monkeypatch):
    monkeypatch.setattr(stripe, "api_base", "http://127.0.0.1:9")
    monkeypatch.setattr(stripe, "max_network_retries", 0)  # SDK retries would wait 1.5 s to fail alike
    response = client.post(reverse("billing:checkout"), {"plan": "pro", "interval": "monthly"})
    assert response.status_code == 503
    assert "could not" in response.content.decode()


def test_it_creates_the_account_and_emails_a_sign_in_link_when_checkout_completes(client, prices, ls, deliver):
    _, session_id = start(client, "pro", "monthly")
    session = pay(ls, session_id, email="nina@new.test")
    response = deliver(event("checkout.session.completed", session))
    assert response.status_code == 200
    record = StripeEvent.objects.get(type="checkout.session.completed")
    assert record.status == "processed", record.last_error
    account = Account.objects.get(stripe_customer_id=session["customer"])
    assert (account.plan, account.billing_interval, account.billing_state) == ("pro", "monthly", "trialing")
    assert account.trial_ends_at is not None
    assert account.users.get().email == "nina@new.test"
    link = OutboundEmail.objects.get(kind="accounts.sign-in-link", to="nina@new.test")
    assert link.status == "sent"
    # Stripe delivers again: nothing happens twice.
    deliver(record.payload)
    assert Account.objects.filter(stripe_customer_id=session["customer"]).count() == 1
    assert OutboundEmail.objects.filter(kind="accounts.sign-in-link").count() == 1
    welcome = client.get(f"{reverse('billing:welcome')}?session_id={session_id}").content.decode()
    assert "email a sign-in link" in welcome and TRIAL_TEXT in welcome.replace("&bull;", "•")


def test_a_canceled_customer_resubscribes_the_same_way(client, prices, ls, deliver, customer):
    account = customer.account
    old = ls.customer(email=customer.email)
    Account.objects.filter(pk=account.pk).update(
        stripe_customer_id=old.id, billing_state=Account.BillingState.CANCELED, plan="starter"
    )
    client.force_login(customer)
    assert "Resubscribe" in client.get(reverse("pages:pricing")).content.decode()
    _, session_id = start(client, "business", "monthly")
    params = ls_call("GET", f"/_levqor/checkout/sessions/{session_id}/params")
    assert params["customer"] == old.id
    assert "trial_period_days" not in params["subscription_data"]  # the trial is for newcomers
    assert params["metadata"]["user"] == str(customer.pk)
    session = pay(ls, session_id, email=customer.email, customer_id=old.id, trial=False)
    deliver(event("checkout.session.completed", session))
    account.refresh_from_db()
    assert (account.plan, account.billing_state, account.trial_ends_at) == ("business", "active", None)
    assert User.objects.filter(account=account).count() == 1
    # Signed in with a live subscription now: the button leads to billing, not a second subscription.
    response = client.post(reverse("billing:checkout"), {"plan": "pro", "interval": "monthly"})
    assert response.status_code == 302 and response["Location"] == reverse("billing:overview")


def test_a_signed_in_customer_without_stripe_is_linked_not_duplicated(client, prices, ls, deliver, customer):
    Account.objects.filter(pk=customer.account_id).update(billing_state=Account.BillingState.CANCELED)
    client.force_login(customer)
    _, session_id = start(client, "starter", "yearly")
    params = ls_call("GET", f"/_levqor/checkout/sessions/{session_id}/params")
    assert params["customer_email"] == customer.email
    session = pay(ls, session_id, email="typed-another@else.test")
    deliver(event("checkout.session.completed", session))
    account = Account.objects.get(pk=customer.account_id)
    assert (account.stripe_customer_id, account.plan, account.billing_state) == (
        session["customer"],
        "starter",
        "trialing",
    )
    assert not User.objects.filter(email="typed-another@else.test").exists()


def test_it_leaves_a_checkout_by_the_owner_of_a_live_account_to_staff(prices, ls, deliver, customer, client):
    Account.objects.filter(pk=customer.account_id).update(stripe_customer_id="cus_live_elsewhere")
    _, session_id = start(client, "pro", "monthly")
    session = pay(ls, session_id, email=customer.email)
    deliver(event("checkout.session.completed", session))
    record = StripeEvent.objects.get(type="checkout.session.completed")
    assert record.note.startswith("needs staff")
    assert Account.objects.get(pk=customer.account_id).stripe_customer_id == "cus_live_elsewhere"
    assert Account.objects.count() == 1


def test_a_burst_of_checkouts_from_one_address_is_an_abuse_signal(client, prices):
    for _ in range(4):
        start(client, "starter", "monthly")
    signal = AbuseSignal.objects.get()
    assert (signal.kind, signal.count) == ("signup_burst", 4)
    assert "127.0.0.1" not in str(signal.__dict__)  # the address is kept hashed


def test_the_trial_becoming_a_paid_subscription_makes_the_account_active(customer):
    """Applied as the intake applies a stored event (the webhook path itself is tested above)."""
    Account.objects.filter(pk=customer.account_id).update(
        stripe_customer_id="cus_trial_ends", billing_state=Account.BillingState.TRIALING
    )
    sub = current_subscription(subscription_id="sub_trial_ends", customer="cus_trial_ends", status="active")
    record = event("customer.subscription.updated", sub, previous={"status": "trialing"})
    webhooks.apply(kind=record["type"], event_id=record["id"], at=timezone.now(), data=record["data"])
    assert Account.objects.get(pk=customer.account_id).billing_state == "active"


def test_a_checkout_by_a_staff_address_is_left_to_staff(client, prices, ls, deliver, staff):
    _, session_id = start(client, "pro", "monthly")
    session = pay(ls, session_id, email=staff.email)
    deliver(event("checkout.session.completed", session))
    record = StripeEvent.objects.get(type="checkout.session.completed")
    assert record.status == "processed" and record.note.startswith("needs staff")
    assert not Account.objects.filter(stripe_customer_id=session["customer"]).exists()


def test_one_address_starting_checkout_after_checkout_is_limited(client, prices, monkeypatch):
    start_of_hour = 1_800_000_000 - 1_800_000_000 % 3600 + 1  # no window boundary mid-test
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: start_of_hour))
    for _ in range(20):
        start(client, "starter", "monthly")
    response = client.post(reverse("billing:checkout"), {"plan": "starter", "interval": "monthly"})
    assert response.status_code == 429 and response["Retry-After"]


def test_a_plan_changed_in_the_billing_portal_moves_the_account_to_it(customer):
    """The portal's plan change arrives as customer.subscription.updated with
    the new catalogue price: the account's plan (and so its SLA hours and
    quota) follows, once; a price outside the catalogue changes nothing."""
    Account.objects.filter(pk=customer.account_id).update(stripe_customer_id="cus_portal", plan="growth")
    sub = current_subscription(subscription_id="sub_portal", customer="cus_portal", status="active")
    sub["items"]["data"][0]["price"]["lookup_key"] = "levqor_pro_yearly"
    record = event("customer.subscription.updated", sub, previous={"items": {}})
    for _ in range(2):
        webhooks.apply(kind=record["type"], event_id=record["id"], at=timezone.now(), data=record["data"])
    account = Account.objects.get(pk=customer.account_id)
    assert (account.plan, account.billing_interval) == ("pro", "yearly")
    assert AuditEvent.objects.filter(action="account.plan_changed", target_id=str(account.pk)).count() == 1

    sub["items"]["data"][0]["price"]["lookup_key"] = "someone_elses_price"
    record = event("customer.subscription.updated", sub, previous={"items": {}})
    webhooks.apply(kind=record["type"], event_id=record["id"], at=timezone.now(), data=record["data"])
    assert Account.objects.get(pk=customer.account_id).plan == "pro"
