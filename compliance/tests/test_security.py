"""Rate limits, security headers, JSON logs and the correlation id."""

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from levqor.lib import correlation, ratelimit
from levqor.lib.logging import JsonFormatter

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]

# Pages that must answer 200 with HTML to an anonymous visitor: the walk
# below checks every page, these make sure it really reached them.
PUBLIC_PAGES = ["/", "/pricing", "/dfy-contract", "/terms", "/privacy", "/login", "/cookies", "/high-risk-data"]
# Not walked: the admin (Django's own pages; its CSP is checked below),
# signing out (it would end the customer's session mid-walk) and the API
# (JSON, never HTML; its browsable schema pages under api/schema/ are walked).
SKIPPED_PREFIXES = ("admin/", "logout", "api/")
WALKED_API_PAGES = ("api/schema/swagger-ui/", "api/schema/redoc/")


def test_it_rate_limits_sign_in_per_ip_with_a_friendly_page(client, customer):
    for i in range(10):
        assert client.post("/login", {"email": customer.email}).status_code == 200, i
    limited = client.post("/login", {"email": customer.email})
    assert limited.status_code == 429
    assert "Please slow down" in limited.content.decode()
    assert 0 < int(limited["Retry-After"]) <= 600
    # Showing the form is free, and another address is counted separately.
    assert client.get("/login").status_code == 200
    assert Client(REMOTE_ADDR="198.51.100.1").post("/login", {"email": customer.email}).status_code == 200


def test_rate_limit_windows_reset():
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.5")
    assert ratelimit.hit(request, "t", "2/1m", now=1000).allowed
    assert ratelimit.hit(request, "t", "2/1m", now=1001).allowed
    assert not ratelimit.hit(request, "t", "2/1m", now=1002).allowed
    assert ratelimit.hit(request, "t", "2/1m", now=1080).allowed  # next window


def test_rate_limits_trust_forwarded_addresses_only_behind_known_proxies(settings):
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert ratelimit.client_ip(request) == "10.0.0.2"
    settings.LEVQOR_TRUSTED_PROXY_COUNT = 1
    assert ratelimit.client_ip(request) == "203.0.113.7"


def test_a_bad_rate_is_refused_at_import():
    with pytest.raises(ValueError, match="Bad rate"):
        ratelimit.ratelimit("x", rate="ten per minute")


def _argument_free_routes(resolver=None, prefix: str = ""):
    """Every route in the project's URLconf that takes no arguments, as a URL path."""
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = entry.pattern
        if not isinstance(pattern, RoutePattern) or pattern.converters:
            continue  # a regex route (the admin's) or one that needs arguments
        if isinstance(entry, URLResolver):
            yield from _argument_free_routes(entry, prefix + str(pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(pattern)


def _walked_routes() -> list[str]:
    return sorted(
        "/" + route
        for route in set(_argument_free_routes())
        if not route.startswith(SKIPPED_PREFIXES) or route in WALKED_API_PAGES
    )


# The one page other sites may frame (README "Status history, badges and embed").
FRAMABLE = {"/status/embed"}


def _assert_csp_and_no_inline_script(path: str, response) -> None:
    where = f"{path} ({response.status_code})"
    csp = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())
    script_src = directives["script-src"]
    assert script_src == "'self'" or re.fullmatch(r"'self' 'nonce-[\w+/=-]+'", script_src), where
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in csp, where
    assert directives["default-src"] == "'self'", where
    if path in FRAMABLE:
        assert directives["frame-ancestors"] == "*" and "X-Frame-Options" not in response, where
    else:
        assert directives["frame-ancestors"] == "'none'" and response["X-Frame-Options"] == "DENY", where
    assert directives["object-src"] == "'none'", where
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin", where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"], where
    nonce = re.search(r"'nonce-([^']+)'", script_src)
    for attributes in re.findall(r"<script\b([^>]*)>", response.content.decode(), re.I):
        if re.search(r"\bsrc\s*=", attributes, re.I):
            continue
        assert nonce and f'nonce="{nonce[1]}"' in attributes, f"{where}: inline <script{attributes}> without the nonce"


def test_every_page_has_a_csp_without_inline_scripts_and_security_headers(client, customer):
    """Every argument-free page, as an anonymous visitor and as a signed-in
    customer. Redirects (to sign in, or elsewhere) are followed only by being
    walked themselves; POST-only routes (405) and non-HTML answers are skipped."""
    routes = _walked_routes()
    assert set(PUBLIC_PAGES) | {"/api-docs", "/account", "/billing", "/status"} <= set(routes)
    signed_in = Client()
    signed_in.force_login(customer)
    checked = {"anonymous": set(), "customer": set()}
    for who, browser in (("anonymous", client), ("customer", signed_in)):
        for path in routes:
            response = browser.get(path)
            if response.status_code in (301, 302, 303, 307, 308, 405):
                continue
            if not response.get("Content-Type", "").startswith("text/html"):
                continue
            _assert_csp_and_no_inline_script(path, response)
            if response.status_code == 200:
                checked[who].add(path)
    assert set(PUBLIC_PAGES) <= checked["anonymous"], set(PUBLIC_PAGES) - checked["anonymous"]
    # The signed-in pages were really reached, not redirected to sign in.
    signed_in_pages = {"/account", "/billing", "/api-docs", "/account/api-keys", "/data-requests"}
    assert signed_in_pages <= checked["customer"], signed_in_pages - checked["customer"]
    assert len(checked["anonymous"]) >= 15 and len(checked["customer"]) >= 20, checked


def test_admin_and_api_pages_carry_the_csp_too(staff_client):
    assert "script-src" in staff_client.get("/admin/")["Content-Security-Policy"]
    assert "Content-Security-Policy" in staff_client.get("/api/legal/acceptance")


def test_production_settings_send_hsts_and_secure_cookies():
    probe = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps([s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.LOGGING['handlers']['console']['formatter']]))"
    )
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "levqor.settings",
        "DEBUG": "false",
        "SECRET_KEY": "p" * 50,
        "ALLOWED_HOSTS": "console.levqor.example",
    }
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [31536000, True, True, True, True, "json"]


def test_logs_are_json_with_the_correlation_id():
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "json"  # DEBUG is off in tests
    record = logging.LogRecord("levqor.test", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    record.correlation_id = "req-12345678"
    record.abuse_kind = "card_testing"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello world" and line["level"] == "WARNING"
    assert line["correlation_id"] == "req-12345678" and line["abuse_kind"] == "card_testing"


def test_the_correlation_id_is_honoured_on_pages_and_api_errors(client):
    page = client.get("/pricing", HTTP_X_REQUEST_ID="abc-12345678")
    assert page["X-Request-ID"] == "abc-12345678"
    error = client.get("/api/gdpr/opt-out", HTTP_X_REQUEST_ID="err-12345678")
    assert error.status_code in (401, 403)
    assert error["X-Request-ID"] == "err-12345678"
    assert correlation.clean("bad id with spaces") != "bad id with spaces"
