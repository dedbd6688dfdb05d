"""`seed_demo`'s support data: every object is made once, however often it runs."""

import io

import pytest
from django.core.management import call_command

from compliance.models import AuditEvent, OutboundEmail
from support import demo
from support.models import Dispute, DisputeMessage, SlaCreditMessage, SlaCreditRequest

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def counts() -> dict:
    return {
        "requests": SlaCreditRequest.objects.count(),
        "request_messages": SlaCreditMessage.objects.count(),
        "disputes": Dispute.objects.count(),
        "dispute_messages": DisputeMessage.objects.count(),
        "emails": OutboundEmail.objects.filter(kind__startswith="support.").count(),
        "audit": AuditEvent.objects.filter(action__startswith="support.").count(),
    }


def test_it_creates_nothing_new_when_seeded_twice(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    first = counts()
    assert first["requests"] == 3 and first["disputes"] == 2 and first["dispute_messages"] == 2
    assert set(SlaCreditRequest.objects.values_list("status", flat=True)) == {"pending", "rejected", "needs-more-info"}
    call_command("seed_demo")
    assert counts() == first
    assert "support: demo data already there" in capsys.readouterr().out


def test_it_recreates_only_what_is_missing(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    first = counts()
    Dispute.objects.filter(stripe_dispute_id="dp_demo_chargeback").delete()
    admin = SlaCreditRequest.objects.filter(status="rejected").get().decided_by
    out = io.StringIO()
    demo.seed(admin=admin, stdout=out)
    assert out.getvalue() == "support: created chargeback"
    assert counts() == first
