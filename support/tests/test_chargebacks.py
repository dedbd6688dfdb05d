"""Stripe chargebacks (`charge.dispute.*`) → the disputes queue, through the
real webhook view (signed as Stripe signs), billing's intake and dj-stripe's
sync against the fake Stripe API; and the daily evidence-due email."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing.models import StripeEvent
from compliance.models import AuditEvent
from compliance.outbox.selectors import emails_about
from support import selectors, services
from support.models import Dispute

from .conftest import dispute_object, event, utc

pytestmark = pytest.mark.django_db

DISPUTE = "dp_1Pgc71B7WZ01zgkWMevJiAUx"
CHARGE = "ch_support_0001"


@pytest.fixture
def stripe_world(fake_stripe, stripe_customer):
    fake_stripe.add_charge(CHARGE, stripe_customer)
    return fake_stripe


def lifecycle(due_by: int) -> list[dict]:
    """One dispute's life as Stripe reports it, oldest first."""
    t0 = int(time.time()) - 3600
    shapes = [
        ("charge.dispute.created", "needs_response", 0),
        ("charge.dispute.funds_withdrawn", "needs_response", 60),
        ("charge.dispute.updated", "under_review", 120),
        ("charge.dispute.closed", "lost", 180),
    ]
    events = []
    for kind, status, offset in shapes:
        obj = dispute_object(dispute_id=DISPUTE, charge_id=CHARGE, status=status, due_by=due_by)
        if status != "needs_response":
            obj["evidence_details"]["submission_count"] = 1
        events.append(event(kind, obj, created=t0 + offset))
    return events


def test_it_turns_replayed_out_of_order_events_into_one_dispute(
    stripe_world, deliver, customer_account, django_capture_on_commit_callbacks
):
    due = int(time.time()) + 2 * 86400
    events = lifecycle(due)
    # Stripe's API answers with the dispute's current (final) state.
    stripe_world.set_dispute(events[-1]["data"]["object"])
    order = [events[2], events[0], events[3], events[1]]
    for item in order + list(reversed(order)):  # each twice, out of order
        deliver(item)

    dispute = Dispute.objects.get()
    assert dispute.source == "chargeback" and dispute.stripe_dispute_id == DISPUTE
    assert dispute.account == customer_account
    assert dispute.stripe_charge_id == CHARGE and dispute.stripe_customer_id == "cus_acme_support"
    assert dispute.amount_minor == 2900 and dispute.currency == "GBP" and dispute.reason == "fraudulent"
    assert dispute.stripe_status == "lost" and dispute.status == "closed"  # the latest event wins
    assert dispute.evidence_due_by == datetime.fromtimestamp(due, tz=UTC)
    assert dispute.subject == "Chargeback £29.00: fraudulent"
    assert {e["id"] for e in dispute.stripe_events} == {e["id"] for e in events}
    assert StripeEvent.objects.filter(status="processed").count() == 4
    assert StripeEvent.objects.get(stripe_id=events[0]["id"]).deliveries == 2
    # Created once; older events arriving later are only logged.
    assert AuditEvent.objects.filter(action="support.chargeback.created").count() == 1
    assert AuditEvent.objects.filter(action="support.chargeback.stale_event").count() == 2
    assert len([m for m in mail.outbox if "support-chargeback-opened" in m.tags]) == 1
    # dj-stripe synced the dispute (and its charge) from the Stripe API first.
    from djstripe.models import Dispute as MirroredDispute

    assert any(path.startswith(f"/v1/disputes/{DISPUTE}") for _, path in stripe_world.requests)
    assert MirroredDispute.objects.filter(id=DISPUTE, charge_id=CHARGE).exists()


def test_it_records_a_chargeback_in_the_order_stripe_sent_it(stripe_world, deliver):
    due = int(time.time()) + 86400
    events = lifecycle(due)
    stripe_world.set_dispute(events[0]["data"]["object"])
    deliver(events[0])
    dispute = Dispute.objects.get()
    assert dispute.status == "open" and dispute.stripe_status == "needs_response"
    assert list(selectors.chargebacks_evidence_due()) == [dispute]
    deliver(events[2])
    dispute.refresh_from_db()
    assert dispute.status == "in-review" and dispute.stripe_status == "under_review"
    assert list(selectors.chargebacks_evidence_due()) == []


def test_it_keeps_a_chargeback_for_an_unknown_customer_unlinked(fake_stripe, deliver):
    fake_stripe.add_customer("cus_stranger")
    fake_stripe.add_charge("ch_stranger", "cus_stranger")
    obj = dispute_object(dispute_id="dp_stranger", charge_id="ch_stranger", status="needs_response", due_by=0)
    fake_stripe.set_dispute(obj)
    deliver(event("charge.dispute.created", obj, created=int(time.time())))
    dispute = Dispute.objects.get()
    assert dispute.account is None and dispute.evidence_due_by is None  # due_by 0: no response possible


def test_it_emails_support_about_evidence_due_once_per_dispute_per_day(
    customer_account, django_capture_on_commit_callbacks
):
    now = datetime(2026, 11, 22, 8, 7, tzinfo=UTC)

    def chargeback(stripe_id, due_in, status="needs_response"):
        return Dispute.objects.create(
            source="chargeback",
            stripe_dispute_id=stripe_id,
            account=customer_account,
            category="billing",
            subject=stripe_id,
            amount_minor=2900,
            currency="GBP",
            stripe_status=status,
            evidence_due_by=now + due_in,
        )

    soon = chargeback("dp_soon", timedelta(days=2))
    chargeback("dp_later", timedelta(days=5))
    chargeback("dp_answered", timedelta(days=1), status="under_review")
    assert selectors.chargeback_evidence_due_count(now=now) == 1  # dp_soon only: dp_later is 5 days out
    with django_capture_on_commit_callbacks(execute=True):
        assert services.evidence_reminders_send(now=now) == 1
        assert services.evidence_reminders_send(now=now + timedelta(hours=3)) == 0  # same day: claimed
    reminders = [m for m in mail.outbox if "support-evidence-due" in m.tags]
    assert len(reminders) == 1 and "dp_soon" in reminders[0].subject and reminders[0].to == ["support@levqor.local"]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.evidence_reminders_send(now=now + timedelta(days=1)) == 1  # the next day, again
    assert sorted(emails_about(soon).filter(kind="support.evidence-due").values_list("stage", flat=True)) == [
        timezone.localdate(now).isoformat(),
        timezone.localdate(now + timedelta(days=1)).isoformat(),
    ]


def test_it_registers_the_daily_evidence_job():
    from levqor.schedules import JOBS

    job = {j.name: j for j in JOBS}["levqor:support.evidence_due_reminders"]
    assert job.func == "support.tasks.evidence_reminders_send"
    from support import tasks

    assert tasks.evidence_reminders_send() == 0


def test_it_counts_chargebacks_won_and_lost_per_month(staff_client, customer_account):
    def closed(name, outcome, at, amount=2900):
        Dispute.objects.create(
            source="chargeback",
            stripe_dispute_id=name,
            account=customer_account,
            category="billing",
            subject=name,
            status="closed",
            stripe_status=outcome,
            amount_minor=amount,
            currency="GBP",
            stripe_event_at=at,
        )

    closed("dp_1", "won", utc(2026, 5, 3, 10))
    closed("dp_2", "lost", utc(2026, 5, 31, 23), amount=14900)
    closed("dp_3", "won", utc(2026, 6, 1, 0))
    closed("dp_4", "needs_response", utc(2026, 6, 2))
    may, june = selectors.chargeback_outcomes_by_month()[::-1]
    assert (may.won, may.lost, may.lost_minor, may.win_percent) == (1, 1, 14900, 50.0)
    assert (june.won, june.lost, june.win_percent) == (1, 0, 100.0)
    page = staff_client.get(reverse("admin:support_dispute_outcomes")).content.decode()
    assert "May 2026" in page and "£149.00" in page and "50.0%" in page
