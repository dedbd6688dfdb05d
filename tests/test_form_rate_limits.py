"""Per-IP limits on the signed-in public forms: past the limit one client
gets the 429 page with Retry-After, and the refused post writes nothing.

Each limit is read from the view's own `@ratelimit(...)` decorator, so the
tests follow the code. The limiter's clock is pinned to the start of a window
so a window boundary can never fall mid-test. Before the over-limit post the
client spends the allowance on posts that write nothing (or, for exports,
posts that each write one export); the over-limit post itself is valid, and
the same post from another address still goes through, so "nothing written"
is the limit's doing and not a refused form.
"""

import inspect
import types
from datetime import UTC

import pytest
from django.test import Client
from django.utils import timezone

from compliance.dsar import views as dsar_views
from compliance.dsar.models import DataExport, ErasureRequest, PrivacyRequest
from levqor.lib import ratelimit
from support import rules
from support import views as support_views
from support.models import Dispute, SlaCreditRequest

pytestmark = pytest.mark.django_db

OTHER_ADDRESS = "198.51.100.23"


def decorator_rate(view) -> tuple[str, int, int]:
    """(scope, limit, period in seconds) from the view's `@ratelimit` decorator."""
    while view is not None:
        names = inspect.getclosurevars(view).nonlocals
        if view.__code__.co_filename == ratelimit.__file__ and {"scope", "rate"} <= set(names):
            limit, period = ratelimit.parse_rate(names["rate"])
            return names["scope"], limit, period
        view = getattr(view, "__wrapped__", None)
    raise AssertionError("the view has no @ratelimit decorator")


@pytest.fixture
def pinned_clock(monkeypatch):
    """The limiter's clock, fixed 1 s into a window of every period used here."""
    start = 1_800_000_000 - 1_800_000_000 % 86_400 + 1  # a multiple of every period that divides a day, plus 1
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: start))
    return start


def assert_limited(response, period: int) -> None:
    assert response.status_code == 429, response.status_code
    assert int(response["Retry-After"]) == period - 1  # the rest of the pinned window
    assert "Please slow down" in response.content.decode()


def last_month() -> str:
    return rules.add_months(timezone.now().astimezone(UTC).date().replace(day=1), -1).strftime("%Y-%m")


def sla_form(**changes) -> dict:
    return {
        "plan": "growth",
        "period_kind": "month",
        "month": last_month(),
        "impact": "major",
        "description": "The console was down for an afternoon.",
        **changes,
    }


def signed_in(client, user, address: str | None = None):
    if address:
        client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    return client


def test_sla_credit_form_is_limited_per_ip(client, customer, pinned_clock):
    scope, limit, period = decorator_rate(support_views.sla_credits)
    assert scope == "support-sla-credit"
    browser = signed_in(client, customer)
    for attempt in range(limit):
        # Missing the description: refused by the form, nothing written.
        assert browser.post("/sla-credits", sla_form(description="")).status_code == 400, attempt
    assert_limited(browser.post("/sla-credits", sla_form()), period)
    assert not SlaCreditRequest.objects.exists()
    assert browser.get("/sla-credits").status_code == 200  # showing the form is free
    assert signed_in(client, customer, OTHER_ADDRESS).post("/sla-credits", sla_form()).status_code == 302
    assert SlaCreditRequest.objects.count() == 1


def test_dispute_form_is_limited_per_ip(client, customer, pinned_clock):
    scope, limit, period = decorator_rate(support_views.disputes)
    assert scope == "support-dispute"
    browser = signed_in(client, customer)
    valid = {"category": "billing", "subject": "Charged twice", "description": "Two charges on 3 October."}
    for attempt in range(limit):
        assert browser.post("/disputes", {**valid, "category": "wrong"}).status_code == 400, attempt
    assert_limited(browser.post("/disputes", valid), period)
    assert not Dispute.objects.exists()
    assert signed_in(client, customer, OTHER_ADDRESS).post("/disputes", valid).status_code == 302
    assert Dispute.objects.count() == 1


def test_data_export_request_is_limited_per_ip(client, customer, settings, pinned_clock):
    scope, limit, period = decorator_rate(dsar_views.export_request)
    assert scope == "dsar-export"
    settings.LEVQOR_DSAR_MIN_DAYS_BETWEEN = 0  # so every allowed post writes an export
    browser = signed_in(client, customer)
    for attempt in range(limit):
        assert browser.post("/data-requests/export").status_code == 302, attempt
    assert DataExport.objects.filter(user=customer).count() == limit
    assert_limited(browser.post("/data-requests/export"), period)
    assert DataExport.objects.filter(user=customer).count() == limit
    assert signed_in(client, customer, OTHER_ADDRESS).post("/data-requests/export").status_code == 302
    assert DataExport.objects.filter(user=customer).count() == limit + 1


def test_erasure_request_is_limited_per_ip(client, customer, pinned_clock):
    scope, limit, period = decorator_rate(dsar_views.erasure_request)
    assert scope == "dsar-erase"
    browser = signed_in(client, customer)
    for attempt in range(limit):
        # Without the confirmation tick: refused, nothing written.
        assert browser.post("/data-requests/erase", {"note": "x"}).status_code == 302, attempt
    assert_limited(browser.post("/data-requests/erase", {"confirm": "on"}), period)
    assert not ErasureRequest.objects.exists()
    assert signed_in(client, customer, OTHER_ADDRESS).post("/data-requests/erase", {"confirm": "on"}).status_code == 302
    assert ErasureRequest.objects.filter(user=customer).count() == 1


def test_privacy_request_form_is_limited_per_ip(client, pinned_clock):
    scope, limit, period = decorator_rate(dsar_views.privacy_request)
    assert scope == "privacy-request"
    for attempt in range(limit):
        # Not an address: refused by the form, nothing written.
        assert client.post("/privacy/request", {"email": "nope", "kind": "access"}).status_code == 400, attempt
    valid = {"email": "reader@example.test", "kind": "access"}
    assert_limited(client.post("/privacy/request", valid), period)
    assert not PrivacyRequest.objects.exists()
    assert client.get("/privacy/request").status_code == 200  # showing the form is free
    assert Client(REMOTE_ADDR=OTHER_ADDRESS).post("/privacy/request", valid).status_code == 200
    assert PrivacyRequest.objects.count() == 1
