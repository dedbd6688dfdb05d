import re

import pytest
from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma

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
    assert f"at most {settings.LEVQOR_API_BURST_PER_KEY} calls every {settings.LEVQOR_API_BURST_WINDOW} seconds" in page


def test_it_shows_every_error_code_and_endpoint(page):
    for code, (status, _meaning) in ERROR_CODES.items():
        assert f"<td>{status}</td><td><code>{code}</code></td>" in page, code
    for endpoint in docs.endpoints(settings.LEVQOR_BASE_URL):
        assert f"<code>{endpoint.method} {endpoint.path}</code>" in page


def test_it_is_linked_from_the_footer_and_the_account_page(page, customer_client):
    assert 'href="/api-docs"' in page
    home = customer_client.get("/account", follow=True).content.decode()
    assert 'href="/account/api-keys"' in home or "/account/api-keys" in home


def test_the_readme_repeats_the_same_quota_table():
    readme = (settings.BASE_DIR / "README.md").read_text()
    section = readme.split("## Developer API", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\s*\| ([^|]+?) \| ([0-9,]+|unlimited) \|$", section, re.M)
    shown = [None if limit == "unlimited" else int(limit.replace(",", "")) for _label, limit in rows]
    assert shown == list(quotas.MONTHLY_QUOTAS.values())
