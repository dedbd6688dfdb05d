"""The audit trail, driven by the core apps' own flows (sign-in)."""

import pytest

from compliance.models import AuditEvent
from levqor.accounts.services import login_link_send


@pytest.mark.django_db
def test_it_stores_the_request_correlation_id(client, customer):
    login_link_send(email=customer.email)
    event = AuditEvent.objects.get(action="auth.login_link_sent")
    assert event.correlation_id == ""  # outside a request

    client.post("/login", {"email": customer.email}, HTTP_X_REQUEST_ID="req-12345678")
    event = AuditEvent.objects.filter(action="auth.login_link_sent").order_by("-seq").first()
    assert event.correlation_id == "req-12345678"
