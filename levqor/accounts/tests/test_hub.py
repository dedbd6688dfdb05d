"""/account is the customer's hub: one link to everything they have."""

import pytest

pytestmark = pytest.mark.django_db

DESTINATIONS = {
    "Workflows": "/account/workflows",
    "API keys": "/account/api-keys",
    "Billing": "/billing",
    "SLA credits": "/sla-credits",
    "Disputes": "/disputes",
    "Your data": "/data-requests",
    "Objections to processing": "/privacy-tools/opt-out",
    "Email updates": "/marketing/subscribe",
    "Cookie preferences": "/cookies",
    "Contact support": "mailto:support@levqor.local",
}


def test_it_links_everything_a_customer_has(customer_client):
    html = customer_client.get("/account").content.decode()
    for label, href in DESTINATIONS.items():
        assert f'<a href="{href}"><strong>{label}</strong>' in html, label


def test_every_hub_link_opens(customer_client):
    for href in DESTINATIONS.values():
        if href.startswith("/"):
            assert customer_client.get(href).status_code == 200, href


def test_a_staff_login_is_sent_to_the_admin(staff_client):
    html = staff_client.get("/account").content.decode()
    assert 'href="/admin/"' in html and "/account/workflows" not in html
