"""Billing test support: a private localstripe per test session, the
webhook endpoint row, signed Stripe deliveries and recorded payload shapes."""

import copy
import hashlib
import hmac
import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import stripe
from django.core.management import call_command
from django.urls import reverse

from compliance.models import OutboundEmail

SECRET_KEY = "sk_test_levqorlocalstripe0123456789abcd"
WEBHOOK_SECRET = "whsec_levqor_test_secret_0123456789"
# Copied from Stripe's public OpenAPI fixtures (fixtures3.json in Stripe's openapi repository).
FIXTURES = Path(__file__).resolve().parent / "stripe_fixtures"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    """localstripe on a free port, state in a private file; yields its URL."""
    port = _free_port()
    state = tmp_path_factory.mktemp("localstripe") / "state.pickle"
    log = open(state.with_suffix(".log"), "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("localstripe_server.py")),
            "--port",
            str(port),
            "--state",
            str(state),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/v1/customers", headers={"Authorization": f"Bearer {SECRET_KEY}"})
            if conn.getresponse().status == 200:
                break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"localstripe did not start; see {state.with_suffix('.log')}")
        time.sleep(0.1)
    previous = stripe.api_base
    stripe.api_base = url
    yield url
    stripe.api_base = previous
    server.terminate()
    server.wait(timeout=10)
    log.close()


@pytest.fixture
def stripe_settings(settings, localstripe, monkeypatch):
    # Each test talks to the localstripe its fixtures resolved: a conftest
    # elsewhere that reuses these fixtures starts its own server, and the
    # session fixture's global `stripe.api_base` is whichever started last.
    monkeypatch.setattr(stripe, "api_base", localstripe)
    settings.STRIPE_TEST_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_HOST = localstripe
    settings.STRIPE_LIVE_MODE = False
    return settings


@pytest.fixture
def webhook_path(db, stripe_settings) -> str:
    """`manage.py stripe_setup --local-account`: the endpoint row, no Stripe call."""
    from io import StringIO

    out = StringIO()
    call_command("stripe_setup", "--local-account", stdout=out)
    return out.getvalue().strip()


def sign(body: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


class Deliver:
    """Post events to the endpoint through the real request cycle, signed."""

    def __init__(self, client, path, capture):
        self.client = client
        self.path = path
        self.capture = capture

    def __call__(self, event: dict, *, secret: str = WEBHOOK_SECRET, path: str | None = None):
        body = json.dumps(event).encode()
        # The endpoint enqueues on commit; the test database never commits,
        # so run the callbacks (django-q2 runs tasks inline in tests).
        with self.capture(execute=True):
            return self.client.post(
                path or self.path,
                data=body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=sign(body, secret=secret),
            )


@pytest.fixture
def deliver(client, webhook_path, django_capture_on_commit_callbacks):
    return Deliver(client, webhook_path, django_capture_on_commit_callbacks)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


_counter = iter(range(1, 10**9))


def event(kind: str, obj: dict, *, created: int | None = None, previous: dict | None = None) -> dict:
    """A webhook event in the current API's envelope (`event.json`)."""
    envelope = copy.deepcopy(fixture("event"))
    envelope["id"] = f"evt_test_{next(_counter)}_{int(time.time() * 1000)}"
    envelope["type"] = kind
    envelope["created"] = created or int(time.time())
    envelope["api_version"] = "2025-09-30.clover"
    envelope["data"] = {"object": obj}
    if previous is not None:
        envelope["data"]["previous_attributes"] = previous
    return envelope


def current_invoice(*, invoice_id, customer, subscription, amount=2900, currency="gbp", **changes) -> dict:
    """Stripe's own invoice fixture (current API: subscription under
    `parent.subscription_details`, `subscription` gone), edited to the case."""
    invoice = copy.deepcopy(fixture("invoice"))
    invoice.update(
        id=invoice_id,
        customer=customer,
        amount_due=amount,
        amount_remaining=amount,
        currency=currency,
        status="open",
        subscription=None,
        hosted_invoice_url=f"https://invoice.stripe.com/i/acct_test/{invoice_id}",
        attempt_count=1,
        next_payment_attempt=int(time.time()) + 3 * 86400,
    )
    invoice["parent"] = {
        "quote_details": None,
        "subscription_details": {"metadata": {}, "subscription": subscription},
        "type": "subscription_details",
    }
    invoice.pop("amount_overpaid", None)
    invoice.update(changes)
    return invoice


def current_subscription(*, subscription_id, customer, status) -> dict:
    sub = copy.deepcopy(fixture("subscription"))
    sub.update(id=subscription_id, customer=customer, status=status)
    return sub


class LocalStripe:
    """Objects in the session's localstripe, through the stripe library."""

    def __init__(self):
        self.key = SECRET_KEY

    def product_and_plan(self, amount=2900):
        product = stripe.Product.create(name="Growth", type="service", api_key=self.key)
        plan = stripe.Plan.create(amount=amount, currency="gbp", interval="month", product=product.id, api_key=self.key)
        return product, plan

    def customer(self, email="owner@acme.test"):
        return stripe.Customer.create(email=email, api_key=self.key)

    def card(self, customer_id: str, number: str):
        method = stripe.PaymentMethod.create(
            type="card", card={"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}, api_key=self.key
        )
        stripe.PaymentMethod.attach(method.id, customer=customer_id, api_key=self.key)
        stripe.Customer.modify(customer_id, invoice_settings={"default_payment_method": method.id}, api_key=self.key)
        return method

    def subscription(self, customer_id: str, plan_id: str):
        return stripe.Subscription.create(
            customer=customer_id, items=[{"plan": plan_id}], expand=["latest_invoice.payment_intent"], api_key=self.key
        )

    def authenticate(self, intent_id: str, client_secret: str, *, success: bool = True):
        conn = http.client.HTTPConnection(stripe.api_base.split("//")[1], timeout=5)
        conn.request(
            "POST",
            f"/v1/payment_intents/{intent_id}/_authenticate",
            body=f"client_secret={client_secret}&success={'true' if success else 'false'}",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Bearer {self.key}"},
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")

    def get(self, path: str) -> dict:
        """An object exactly as localstripe renders it (its 2017 API shape)."""
        conn = http.client.HTTPConnection(stripe.api_base.split("//")[1], timeout=5)
        conn.request("GET", path, headers={"Authorization": f"Bearer {self.key}"})
        response = conn.getresponse()
        assert response.status == 200, response.status
        return json.loads(response.read())

    def register_webhook(self, url: str, secret: str = WEBHOOK_SECRET):
        conn = http.client.HTTPConnection(stripe.api_base.split("//")[1], timeout=5)
        conn.request(
            "POST",
            "/_config/webhooks/levqor",
            body=f"url={url}&secret={secret}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert conn.getresponse().status == 200


@pytest.fixture
def ls(localstripe, stripe_settings):
    return LocalStripe()


@pytest.fixture
def account_with_customer(customer_account, ls):
    """The customer persona's account, mapped to a localstripe customer."""
    stripe_customer = ls.customer(email="owner@acme.test")
    customer_account.stripe_customer_id = stripe_customer.id
    customer_account.save(update_fields=["stripe_customer_id"])
    return customer_account


@pytest.fixture
def paying(customer, ls, stripe_settings, webhook_path):
    """The customer on Growth monthly in localstripe, a Visa ending 4242
    expiring 12/2034, one paid invoice; mirrored by dj-stripe's own sync."""
    from io import StringIO

    from djstripe.models import Customer, Invoice, PaymentMethod, Subscription

    from levqor.accounts.models import Account

    out = StringIO()
    call_command("stripe_prices", stdout=out)
    price = dict(line.split("\t")[:2] for line in out.getvalue().splitlines())["levqor_growth_monthly"]
    cus = ls.customer(email=customer.email)
    method = ls.card(cus.id, "4242424242424242")
    sub = stripe.Subscription.create(customer=cus.id, items=[{"plan": price}], api_key=SECRET_KEY)
    Account.objects.filter(pk=customer.account_id).update(stripe_customer_id=cus.id)
    Customer.sync_from_stripe_data(stripe.Customer.retrieve(cus.id, api_key=SECRET_KEY), api_key=SECRET_KEY)
    PaymentMethod.sync_from_stripe_data(
        stripe.PaymentMethod.retrieve(method.id, api_key=SECRET_KEY), api_key=SECRET_KEY
    )
    Subscription.sync_from_stripe_data(stripe.Subscription.retrieve(sub.id, api_key=SECRET_KEY), api_key=SECRET_KEY)
    for invoice in stripe.Invoice.list(customer=cus.id, api_key=SECRET_KEY)["data"]:
        Invoice.sync_from_stripe_data(invoice, api_key=SECRET_KEY)
    customer.account.refresh_from_db()
    return customer


def webhook_url_path(uuid) -> str:
    return reverse("billing:stripe_webhook", kwargs={"uuid": uuid})


def dunning_emails(case=None, **filters):
    """The outbox's dunning emails (of one case), oldest first."""
    emails = OutboundEmail.objects.filter(kind="billing.dunning", **filters)
    if case is not None:
        emails = emails.filter(about_type="billing.dunningcase", about_id=str(case.pk))
    return emails.order_by("created_at", "pk")
