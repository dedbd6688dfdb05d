"""The fast lane (levqor.middleware.FastLaneMiddleware) answers the public hot
paths exactly as the full middleware stack does: same status, body and
headers (every security header, no cookie, no Vary: Cookie), only cheaper."""

import gzip
import hashlib
import hmac
import json
import re
import time
import uuid
from io import StringIO

import pytest
from django.core import signing
from django.core.management import call_command
from django.test import Client

from billing import intake
from billing.models import StripeEvent
from compliance import consent
from compliance.middleware import EXEMPT_PREFIXES
from levqor.api.testing import issue_key
from levqor.middleware import FAST_API_PATHS, FAST_PAGE_PATHS, FAST_PATHS, SKIPPED_ON_THE_FAST_LANE
from status import probes, services
from status.cache_keys import RENDERED, forget_local
from status.models import State

pytestmark = pytest.mark.django_db

FAST_LANE = "levqor.middleware.FastLaneMiddleware"
SECURITY_HEADERS = {
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Permissions-Policy",
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
}
REQUEST_ID = "fast-lane-test-0001"  # a fixed id, so X-Request-ID compares too


@pytest.fixture
def healthy(db, monkeypatch):
    services.components_ensure()
    for probe, latency in (("web", 40), ("database", 3), ("cache", 1), ("workflows", 20)):
        monkeypatch.setitem(
            probes._PROBES, probe, lambda component, latency=latency: probes.Result(State.UP, latency, "")
        )
    services.heartbeat_beat()
    services.snapshot_take()


@pytest.fixture
def hsts(settings):
    settings.SECURE_HSTS_SECONDS = 31536000  # as in production (not DEBUG): HSTS on secure requests
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True


def _answer(path: str, *, method: str = "get", cookies: dict | None = None, **headers):
    client = Client()
    for name, value in (cookies or {}).items():
        client.cookies[name] = value
    return getattr(client, method)(path, secure=True, HTTP_X_REQUEST_ID=REQUEST_ID, **headers)


def _full_stack(settings, path: str, **kwargs):
    # The same document for both: the health document carries the clock's
    # time (and the heartbeat's age), so the copy the first answer rendered is
    # kept past its second.
    for media_type, (_, status, body) in list(RENDERED.items()):
        RENDERED[media_type] = (float("inf"), status, body)
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != FAST_LANE]
    try:
        return _answer(path, **kwargs)
    finally:
        settings.MIDDLEWARE = [FAST_LANE, *settings.MIDDLEWARE]


def _described(response) -> tuple:
    # /-/ping's Expires (never_cache) is the clock's time: present on both, its value may be a second apart.
    headers = sorted((name, "<now>" if name == "Expires" else value) for name, value in response.items())
    return response.status_code, response.content, headers, sorted(response.cookies.items())


@pytest.mark.parametrize("path", FAST_PATHS)
@pytest.mark.parametrize(
    ("method", "headers"),
    [("get", {}), ("head", {}), ("get", {"HTTP_ACCEPT": "application/health+json"})],
)
def test_a_fast_path_answers_exactly_as_the_full_stack_does(settings, hsts, healthy, path, method, headers):
    assert settings.MIDDLEWARE[0] == FAST_LANE

    forget_local()
    fast = _answer(path, method=method, **headers)
    full = _full_stack(settings, path, method=method, **headers)

    assert not hasattr(fast.wsgi_request, "session")  # it did take the fast lane
    assert hasattr(full.wsgi_request, "session")
    assert fast.status_code == 200
    assert _described(fast) == _described(full)
    assert SECURITY_HEADERS <= set(dict(fast.items()))
    assert "Cookie" not in fast.get("Vary", "") and not fast.cookies
    assert fast["X-Request-ID"] == REQUEST_ID


def test_a_request_with_a_cookie_takes_the_full_stack(settings, healthy):
    response = _answer("/api/v2/summary.json", cookies={settings.SESSION_COOKIE_NAME: "not-a-real-session-key"})

    assert hasattr(response.wsgi_request, "session")
    assert response.status_code == 200


def test_other_methods_take_the_full_stack():
    response = _answer("/-/ping", method="post")

    assert hasattr(response.wsgi_request, "session")
    assert response.status_code == 405


def test_an_unhealthy_answer_is_the_same_on_both_stacks(settings, hsts, db):
    # No probe results yet: monitoring is stale, 503.
    services.components_ensure()
    fast = _answer("/api/status/health")
    full = _full_stack(settings, "/api/status/health")

    assert fast.status_code == 503
    assert not hasattr(fast.wsgi_request, "session")
    assert _described(fast) == _described(full)


def test_the_terms_gate_lets_every_fast_path_through_before_reading_the_user():
    # Why the fast lane may leave the terms gate out.
    assert "compliance.middleware.TermsGateMiddleware" in SKIPPED_ON_THE_FAST_LANE
    assert all(path.startswith(EXEMPT_PREFIXES) for path in FAST_PATHS)


PER_CALL = {"X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Quota-Remaining"}


def test_an_api_poll_takes_the_fast_lane_and_answers_as_the_full_stack(settings, hsts, customer_account):
    key = issue_key(customer_account).secret
    answers = []
    for cookies in (None, {"_ga": "a-tracking-cookie"}, None):  # fast lane, full stack, fast lane
        response = _answer("/api/workflows", cookies=cookies, HTTP_X_API_KEY=key)
        headers = sorted((name, value) for name, value in response.items() if name not in PER_CALL)
        answers.append((response.status_code, response.content, headers, hasattr(response.wsgi_request, "session")))

    assert "/api/workflows" in FAST_API_PATHS
    assert [took_full_stack for *_, took_full_stack in answers] == [False, True, False]
    assert answers[0][0] == 200
    assert answers[0][:3] == answers[1][:3] == answers[2][:3]
    assert "Cookie" not in dict(answers[0][2]).get("Vary", "")


def test_the_api_fast_path_is_exempt_from_the_terms_gate_too():
    assert all(path.startswith(EXEMPT_PREFIXES) for path in FAST_API_PATHS)


def _without_token(response) -> tuple:
    """The page with its visitor's own CSRF token and cookie value masked."""
    body = gzip.decompress(response.content) if response.get("Content-Encoding") == "gzip" else response.content
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b'name="csrfmiddlewaretoken" value="-"', body)
    headers = sorted((name, value) for name, value in response.items() if name != "Content-Length")
    cookies = sorted(  # the expiry is the clock's time: a second may pass between the two
        (name, sorted((k, "<when>" if k == "expires" else v) for k, v in m.items() if v))
        for name, m in response.cookies.items()
    )
    return response.status_code, body, headers, cookies


@pytest.mark.parametrize("encoding", ["gzip", ""])
def test_a_first_visit_to_the_status_page_takes_the_fast_lane_and_answers_as_the_full_stack(
    settings, hsts, healthy, encoding
):
    assert "/status" in FAST_PAGE_PATHS
    forget_local()
    fast = _answer("/status", HTTP_ACCEPT_ENCODING=encoding)
    forget_local()
    full = _full_stack(settings, "/status", HTTP_ACCEPT_ENCODING=encoding)

    assert not hasattr(fast.wsgi_request, "session") and hasattr(full.wsgi_request, "session")
    assert fast.status_code == 200
    assert _without_token(fast) == _without_token(full)
    assert settings.CSRF_COOKIE_NAME in fast.cookies  # its forms' token has its cookie


def test_the_status_pages_form_token_is_accepted_by_the_csrf_check(healthy):
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get("/status", secure=True)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()

    assert not hasattr(page.wsgi_request, "session")  # the fast lane made it
    referer = {"secure": True, "HTTP_REFERER": "https://testserver/status"}
    forged = Client(enforce_csrf_checks=True).post("/status/subscribe", {"email": "a@example.com"}, **referer)
    sent = visitor.post("/status/subscribe", {"email": "reader@example.com", "csrfmiddlewaretoken": token}, **referer)

    assert forged.status_code == 403
    assert sent.status_code == 200 and b"reader@example.com" in sent.content


def test_a_reload_with_the_csrf_and_consent_cookies_takes_the_fast_lane_too(settings, hsts, healthy):
    first = _answer("/status")
    choice = {"id": str(uuid.uuid4()), "v": consent.BANNER_VERSION, "f": 1, "a": 0, "m": 0}
    cookies = {
        settings.CSRF_COOKIE_NAME: first.cookies[settings.CSRF_COOKIE_NAME].value,
        consent.COOKIE_NAME: signing.dumps(choice, salt="compliance.consent", compress=True),  # as consent.set_cookie
    }
    forget_local()
    fast = _answer("/status", cookies=cookies)
    forget_local()
    full = _full_stack(settings, "/status", cookies=cookies)

    assert not hasattr(fast.wsgi_request, "session") and hasattr(full.wsgi_request, "session")
    assert _without_token(fast) == _without_token(full)
    assert b"cookie-banner" in first.content and b"cookie-banner" not in fast.content  # the choice was read


@pytest.mark.parametrize("cookie", ["session", "messages"])
def test_a_page_request_with_a_session_or_messages_cookie_takes_the_full_stack(settings, healthy, cookie):
    name = settings.SESSION_COOKIE_NAME if cookie == "session" else "messages"
    response = _answer("/status", cookies={name: "anything"})

    assert hasattr(response.wsgi_request, "session")
    assert response.status_code == 200


WEBHOOK_SECRET = "whsec_fast_lane_test_0123456789"


@pytest.fixture
def webhook_path(settings, db, monkeypatch):
    """An endpoint row as `stripe_setup --local-account` makes it (no Stripe
    call); processing is not run, only handed over."""
    settings.STRIPE_TEST_SECRET_KEY = "sk_test_" + "f" * 24  # a well-formed test key: no call is made
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_LIVE_MODE = False
    monkeypatch.setattr(intake, "enqueue", lambda pk: None)
    out = StringIO()
    call_command("stripe_setup", "--local-account", stdout=out)
    return out.getvalue().strip()


def _delivery(path: str, n: int, cookies: dict | None = None):
    now = int(time.time())
    payload = {
        "id": f"evt_fast_lane_{n}",
        "object": "event",
        "type": "customer.updated",
        "created": now,
        "livemode": False,
        "data": {"object": {"id": "cus_fast_lane", "object": "customer"}},
    }
    body = json.dumps(payload).encode()
    digest = hmac.new(WEBHOOK_SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    client = Client()
    for name, value in (cookies or {}).items():
        client.cookies[name] = value
    return client.post(
        path,
        data=body,
        content_type="application/json",
        secure=True,
        HTTP_STRIPE_SIGNATURE=f"t={now},v1={digest}",
        HTTP_X_REQUEST_ID=REQUEST_ID,
    )


def test_a_stripe_delivery_takes_the_fast_lane_and_is_answered_as_the_full_stack(settings, hsts, webhook_path):
    fast = _delivery(webhook_path, 1)
    full = _delivery(webhook_path, 2, cookies={"_ga": "a-tracking-cookie"})
    again = _delivery(webhook_path, 1)

    assert not hasattr(fast.wsgi_request, "session") and hasattr(full.wsgi_request, "session")
    assert fast.status_code == full.status_code == 200
    assert sorted(fast.items()) == sorted(full.items())
    assert fast.json() == {"received": "evt_fast_lane_1", "duplicate": False, "status": "received"}
    assert full.json() == {"received": "evt_fast_lane_2", "duplicate": False, "status": "received"}
    assert again.json()["duplicate"] is True
    assert list(StripeEvent.objects.order_by("stripe_id").values_list("stripe_id", "deliveries")) == [
        ("evt_fast_lane_1", 2),
        ("evt_fast_lane_2", 1),
    ]


def test_a_bad_signature_is_refused_on_the_fast_lane_too(webhook_path):
    signature = {"HTTP_STRIPE_SIGNATURE": "t=1,v1=0"}
    response = Client().post(webhook_path, data=b"{}", content_type="application/json", **signature)

    assert not hasattr(response.wsgi_request, "session")
    assert response.status_code == 400 and not StripeEvent.objects.exists()


def test_a_post_under_the_webhook_prefix_that_matches_no_route_is_a_404_every_time(webhook_path):
    # The lane remembers the routes it resolved; a path that resolves to
    # nothing is answered as the full stack answers it, and never kept.
    for _ in range(2):
        fast = Client().post("/stripe/webhook/not-a-uuid/", data=b"{}", content_type="application/json")
        full = Client(headers={"Cookie": "_ga=a-tracking-cookie"}).post(
            "/stripe/webhook/not-a-uuid/", data=b"{}", content_type="application/json"
        )
        assert fast.status_code == full.status_code == 404
    assert _delivery(webhook_path, 3).status_code == 200  # the real endpoint, after the misses
    assert StripeEvent.objects.get().stripe_id == "evt_fast_lane_3"
