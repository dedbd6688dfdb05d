"""Swagger UI and Redoc really render, from this server alone, under the
site's Content Security Policy (headless Chromium via Playwright)."""

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch(page, server_url):
    """Record requests to any other host (and refuse them) and CSP violations."""
    seen = {"foreign": [], "csp": []}
    host = urlsplit(server_url).netloc

    def route(route):
        if urlsplit(route.request.url).netloc not in (host, ""):
            seen["foreign"].append(route.request.url)
            return route.abort()
        return route.continue_()

    page.route("**/*", route)
    page.on("console", lambda msg: "Content Security Policy" in msg.text and seen["csp"].append(msg.text))
    return seen


def test_swagger_ui_renders_the_schema_without_a_cdn(live_server, js_page):
    seen = _watch(js_page, live_server.url)
    js_page.goto(f"{live_server.url}/api/schema/swagger-ui/")
    js_page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = js_page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/workflows" in path for path in paths)
    assert seen["foreign"] == [] and not [m for m in seen["csp"] if "script" in m]


def test_redoc_renders_the_schema_without_a_cdn(live_server, js_page):
    seen = _watch(js_page, live_server.url)
    js_page.goto(f"{live_server.url}/api/schema/redoc/")
    js_page.locator("h2", has_text="List workflows").first.wait_for(timeout=20_000)
    assert js_page.locator("h1", has_text="Levqor API").first.is_visible()
    assert seen["foreign"] == [] and not [m for m in seen["csp"] if "script" in m]
