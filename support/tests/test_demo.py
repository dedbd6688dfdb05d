"""`seed_demo`'s support data: every object is made once, however often it runs."""

import io

import pytest

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


@pytest.mark.xdist_group("support-seed-twice")
class TestSeeded:
    """One demo world seeded twice for these tests (conftest's `seeded_twice`)."""

    def test_it_creates_nothing_new_when_seeded_twice(self, seeded_twice):
        after_first, after_second = seeded_twice.after_first, seeded_twice.after_second
        first = {
            "requests": after_first["support.SlaCreditRequest"],
            "request_messages": after_first["support.SlaCreditMessage"],
            "disputes": after_first["support.Dispute"],
            "dispute_messages": after_first["support.DisputeMessage"],
        }
        assert first["requests"] == 3 and first["disputes"] == 2 and first["dispute_messages"] == 2
        assert set(SlaCreditRequest.objects.values_list("status", flat=True)) == {
            "pending",
            "rejected",
            "needs-more-info",
        }
        # Every support row, its emails and its audit entries: the second run added none.
        for label in ("support.SlaCreditRequest", "support.SlaCreditMessage", "support.Dispute"):
            assert after_second[label] == after_first[label], label
        assert after_second["support.DisputeMessage"] == after_first["support.DisputeMessage"]
        assert after_second["compliance.OutboundEmail"] == after_first["compliance.OutboundEmail"]
        assert after_second["compliance.AuditEvent"] == after_first["compliance.AuditEvent"]
        assert "support: demo data already there" in seeded_twice.second

    def test_it_recreates_only_what_is_missing(self, seeded_twice):
        first = counts()
        Dispute.objects.filter(stripe_dispute_id="dp_demo_chargeback").delete()
        admin = SlaCreditRequest.objects.filter(status="rejected").get().decided_by
        out = io.StringIO()
        demo.seed(admin=admin, stdout=out)
        assert out.getvalue() == "support: created chargeback"
        assert counts() == first
