import re

import pytest
from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.html import escape

from levqor.api import docs, quotas
from levqor.api.errors import ERROR_CODES


@pytest.fixture
def page(client, db):
    response = client.get("/api-docs")
    assert response.status_code == 200
    return response.content.decode()


def test_it_has_every_section_the_issue_lists(page):
    for section in ("overview", "authentication", "endpoints", "rate-limits", "errors", "sandbox", "terms", "schema"):
        assert f'id="{section}"' in page, section
    assert "X-Api-Key" in page and "Authorization: Bearer" in page and "Rotate it" in page
    assert "Fair use" in page and "/terms#acceptable-use" in page
    assert 'href="/api/schema/swagger-ui/"' in page and 'href="/api/schema/redoc/"' in page


def test_it_shows_the_quota_table_the_code_enforces(page):
    for row in quotas.quota_table():
        match = re.search(rf'<tr data-quota="{row["code"]}"><td>([^<]+)</td><td>([^<]+)</td></tr>', page)
        assert match, row
        shown = "Unlimited" if row["limit"] is None else intcomma(row["limit"])
        assert match[1] == row["label"] and match[2] == shown
    assert quotas.MONTHLY_QUOTAS["sandbox"] == 1_000 and quotas.MONTHLY_QUOTAS["pro"] == 10_000
    assert quotas.MONTHLY_QUOTAS["business"] is None
    burst = f"at most {settings.LEVQOR_API_BURST_PER_KEY} calls in any {settings.LEVQOR_API_BURST_WINDOW} seconds"
    assert burst in page


def test_it_shows_every_error_code_and_endpoint(page):
    for code, (status, _meaning) in ERROR_CODES.items():
        assert f"<td>{status}</td><td><code>{code}</code></td>" in page, code
    for endpoint in docs.endpoints(settings.LEVQOR_BASE_URL):
        assert f"<code>{endpoint.method} {endpoint.path}</code>" in page


def test_each_endpoint_shows_its_auth_purpose_and_curl_example_escaped(page):
    for endpoint in docs.endpoints(settings.LEVQOR_BASE_URL):
        block = _endpoint_block(page, endpoint)
        assert f"<p>{escape(endpoint.summary)}</p>" in block, endpoint.path
        assert f"<strong>Auth:</strong> {escape(endpoint.auth)}</p>" in block, endpoint.path
        assert f"<pre><code>{escape(endpoint.curl)}</code></pre>" in block, endpoint.path
        assert endpoint.curl.startswith("curl ") and re.search(_example_url(endpoint), endpoint.curl), endpoint.path
    assert "&#x27;" in page and "&quot;" in page  # quotes in the examples really are escaped
    assert "-d '{" not in page


def test_endpoints_are_grouped_with_the_auth_each_group_needs(page):
    listed = docs.endpoints(settings.LEVQOR_BASE_URL)
    groups = [endpoint.group for endpoint in listed]
    assert list(dict.fromkeys(groups)) == docs.GROUPS  # each group once, contiguous, in order
    for group in docs.GROUPS:
        assert f'id="endpoints-{group.slug}"' in page and f'href="#endpoints-{group.slug}"' in page
    by_path = {(e.method, e.path): e for e in listed}
    assert by_path[("GET", "/api/status/health")].auth.startswith("None")
    assert "application/health+json" in by_path[("GET", "/api/status/health")].curl
    assert by_path[("POST", "/api/marketing/subscribe")].auth.startswith("None")
    assert "X-Api-Key" not in by_path[("POST", "/api/marketing/subscribe")].curl
    for (method, path), endpoint in by_path.items():
        if path.startswith("/api/admin/"):  # staff: session only, never a key
            assert endpoint.group == docs.STAFF and "staff session only" in endpoint.auth, path
            assert "X-Api-Key" not in endpoint.curl and "sessionid=" in endpoint.curl, path
            if method == "POST":
                assert "X-CSRFToken" in endpoint.curl, path
        elif endpoint.auth == docs.METRICS:  # staff or the operators' token, never a customer key
            assert "X-Api-Key" not in endpoint.curl and "Bearer $LEVQOR_METRICS_TOKEN" in endpoint.curl, path
        elif path.startswith("/api/v1/"):  # the status API: a staff status key, as Statuspage sends it
            assert endpoint.group == docs.STATUS_MANAGE and endpoint.auth == docs.STATUS_KEY, path
            assert "X-Api-Key" not in endpoint.curl and "Authorization: OAuth $LEVQOR_STATUS_API_KEY" in endpoint.curl
        elif not endpoint.auth.startswith("None"):
            assert "X-Api-Key: $LEVQOR_API_KEY" in endpoint.curl, path


def _endpoint_block(page: str, endpoint) -> str:
    marker = f'data-endpoint="{endpoint.method} {endpoint.path}"'
    assert page.count(marker) == 1, marker
    return page.split(marker, 1)[1].split("</div>", 1)[0]


def _example_url(endpoint) -> str:
    """A pattern for the endpoint's URL as its example calls it, path parameters filled in."""
    pattern = re.escape(settings.LEVQOR_BASE_URL + endpoint.path)
    return re.sub(r"\\\{[a-z_]+\\\}", lambda _: r"[^/?'\s]+", pattern) + r"(?=[?'\s]|$)"


def test_it_says_who_a_data_export_acts_for_and_the_decision_names_the_spec_uses(page):
    assert "account&#x27;s owner" not in page and "account's owner" not in page
    export = page.split("<code>POST /api/dsar/export</code>")[1].split("</div>")[0]
    assert "acts for the person who created the key" in export
    decision = page.split("<code>POST /api/admin/sla-credits/{request_id}/decision</code>")[1].split("</div>")[0]
    assert "credit_amount in pounds" in decision and "&quot;credit_amount&quot;: 14.90" in decision
    assert "400 unknown_field" in page.replace("<code>", "").replace("</code>", "")
    assert "past the last page" in page
