import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from levqor import plans

PUBLIC_PAGES = [
    "pages:home",
    "pages:pricing",
    "pages:dfy_contract",
    "pages:terms",
    "pages:privacy",
    "pages:refunds",
    "pages:sla",
    "pages:business_continuity",
    "accounts:login",
]


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.assets, self.scripts = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "link" and attrs.get("href"):
            self.assets.append(attrs["href"])
        if tag in ("img", "script", "iframe") and attrs.get("src"):
            self.assets.append(attrs["src"])
        if tag == "script":
            self.scripts += 1


def parse(response) -> Links:
    links = Links()
    links.feed(response.content.decode())
    return links


def text_of(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.mark.django_db
@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_it_serves_each_public_page_without_javascript_or_cdn(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 200
    links = parse(response)
    # Public pages work without JavaScript; /pricing adds one script of its own
    # (the ROI calculator and the exit-intent prompt: tests/browser/test_pricing_aids.py).
    assert links.scripts == (1 if name == "pages:pricing" else 0), "public pages must work without JavaScript"
    for asset in links.assets:
        assert asset.startswith("/"), f"{asset} is not served by the project"
    assert "<h1" in response.content.decode()


@pytest.mark.django_db
def test_every_footer_and_header_link_works(client):
    seen, broken = set(), []
    for name in PUBLIC_PAGES:
        for href in parse(client.get(reverse(name))).hrefs:
            if href.startswith(("mailto:", "#", "http")) or href in seen:
                continue
            seen.add(href)
            status = client.get(href.split("#")[0], follow=True).status_code  # a redirect must land on a page
            if status != 200:
                broken.append((href, status))
    assert broken == []
    for name in PUBLIC_PAGES:
        assert reverse(name) in seen or name == "pages:home"


@pytest.mark.django_db
def test_pricing_shows_every_locked_fact(client):
    response = client.get("/pricing")
    page = text_of(response)

    assert plans.missing_from_page(response.content.decode()) == []
    for plan in plans.PLANS:
        assert f"£{plan.monthly}" in page and f"£{plan.yearly}" in page
        assert f"{plan.support_sla_hours} h" in page
    for tier in plans.DFY_TIERS:
        assert f"£{tier.price}" in page
        assert f"{tier.business_days_min}–{tier.business_days_max} business days" in page
    assert plans.TRIAL_TEXT in page
    assert "14-day money-back guarantee" in page
    assert reverse("pages:dfy_contract") in response.content.decode()


@pytest.mark.django_db
def test_dfy_contract_has_all_eight_sections_and_the_locked_facts(client):
    response = client.get("/dfy-contract")
    page = text_of(response)

    assert "Managed Automation Services Agreement" in page
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", response.content.decode(), re.S)
    expected = [
        "Scope of work",
        "Deliverables and timelines",
        "Revisions and change requests",
        "Customer responsibilities",
        "Exclusions and limitations",
        "Payment and refunds",
        "Term and termination",
        "Liability and indemnity",
    ]
    for title in expected:
        assert any(title.lower() in re.sub(r"<[^>]+>", "", h).lower() for h in headings), title
    for tier in plans.DFY_TIERS:
        assert f"£{tier.price}" in page
        assert f"{tier.business_days_min}–{tier.business_days_max} business days" in page
        assert re.search(rf"{tier.name}.*?{tier.workflows}\b", page)
    assert "14-day money-back guarantee" in page or "14 days" in page


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["pages:home", "pages:terms", "pages:refunds"])
def test_pages_that_mention_the_trial_use_the_exact_sentence(client, name):
    page = text_of(client.get(reverse(name)))
    if "trial" in page.lower():
        assert plans.TRIAL_TEXT in page


@pytest.mark.django_db
def test_it_refuses_to_post_to_a_public_page(client):
    assert client.post("/pricing").status_code == 405


def test_ping_answers_without_the_database(client):
    response = client.get("/-/ping")
    assert response.status_code == 200 and response.content == b"pong\n"
    assert response["X-Request-ID"]
