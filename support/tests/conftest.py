"""Support test fixtures: the fake Stripe API, the webhook endpoint row,
signed deliveries of Stripe's own payload shapes, and helpers."""

import copy
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from io import StringIO

import pytest
import stripe
from django.core.management import call_command

from levqor.accounts.models import Account

from .fake_stripe import FakeStripe, fixture, serve

SECRET_KEY = "sk_test_levqorsupportfake0123456789abcd"
WEBHOOK_SECRET = "whsec_levqor_support_test_0123456789"


@pytest.fixture(scope="session")
def _fake_stripe_server():
    fake = FakeStripe()
    server, url = serve(fake)
    yield fake, url
    server.shutdown()


@pytest.fixture
def fake_stripe(_fake_stripe_server, settings):
    """The fake Stripe API, emptied, with the stripe library and dj-stripe pointed at it."""
    fake, url = _fake_stripe_server
    fake.reset()
    settings.STRIPE_TEST_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_HOST = url
    settings.STRIPE_LIVE_MODE = False
    previous = stripe.api_base, stripe.upload_api_base, stripe.max_network_retries
    # File uploads (chargeback evidence) go to Stripe's upload host: the same fake.
    stripe.api_base, stripe.upload_api_base, stripe.max_network_retries = url, url, 0
    yield fake
    stripe.api_base, stripe.upload_api_base, stripe.max_network_retries = previous


@pytest.fixture
def stripe_customer(customer_account, fake_stripe) -> str:
    """The customer persona's account mapped to a Stripe customer."""
    fake_stripe.add_customer("cus_acme_support")
    Account.objects.filter(pk=customer_account.pk).update(stripe_customer_id="cus_acme_support")
    customer_account.refresh_from_db()
    return "cus_acme_support"


@pytest.fixture
def webhook_path(db, fake_stripe) -> str:
    """`manage.py stripe_setup --local-account`: the endpoint row, no Stripe call."""
    out = StringIO()
    call_command("stripe_setup", "--local-account", stdout=out)
    return out.getvalue().strip().splitlines()[-1].strip()


def sign(body: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """`Stripe-Signature` exactly as Stripe makes it."""
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


@pytest.fixture
def deliver(client, webhook_path, django_capture_on_commit_callbacks):
    """Post one event through the real webhook view, signed; processing runs
    after the (captured) commit, inline (django-q2 sync in tests)."""

    def _deliver(event: dict):
        body = json.dumps(event).encode()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                webhook_path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body)
            )
        assert response.status_code == 200, response.content
        return response

    return _deliver


_ids = iter(range(1, 10**9))


def dispute_object(*, dispute_id: str, charge_id: str, status: str, due_by: int, amount=2900, **changes) -> dict:
    """Stripe's own dispute fixture edited to the case."""
    dispute = fixture("dispute")
    dispute.update(id=dispute_id, charge=charge_id, status=status, amount=amount, currency="gbp", reason="fraudulent")
    dispute["evidence_details"] = {**dispute["evidence_details"], "due_by": due_by}
    dispute.update(changes)
    return dispute


def event(kind: str, obj: dict, *, created: int) -> dict:
    """A webhook event in the current API's envelope (`event.json`)."""
    envelope = copy.deepcopy(fixture("event"))
    envelope.update(
        id=f"evt_support_{next(_ids)}_{int(time.time() * 1000)}",
        type=kind,
        created=created,
        api_version="2025-09-30.clover",
        data={"object": copy.deepcopy(obj)},
    )
    return envelope


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
