"""Retention: the policy per data kind, the daily job and the dry run."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from compliance import audit
from compliance.dsar import retention, tasks
from compliance.dsar.models import DataExport
from compliance.models import AuditEvent
from levqor.workflows.models import RunLog
from status.models import Subscriber
from support import rules
from support import services as support_services
from support.models import SlaCreditRequest

from .helpers import make_product_data, request_and_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def aged(customer, django_capture_on_commit_callbacks):
    """Old and new run logs, an export whose link expired long ago, old audit details."""
    run = make_product_data(customer, tag="Aged", logs=6)
    old = timezone.now() - timedelta(days=400)
    RunLog.objects.filter(run=run, seq__lte=4).update(at=old)
    export = request_and_build(customer, capture=django_capture_on_commit_callbacks)
    DataExport.objects.filter(pk=export.pk).update(link_expires_at=timezone.now() - timedelta(days=31))
    # occurred_at is hashed into the chain, so tests move the policy's "now"
    # forward instead of back-dating audit events.
    audit.record(actor=None, action="test.old", details={"email": "old@example.test"})
    return {"run": run, "export": export}


def test_it_prints_what_would_go_and_changes_nothing(aged, capsys, settings):
    settings.LEVQOR_RETENTION_DAYS = {**settings.LEVQOR_RETENTION_DAYS, "audit_details": 365}
    events_before = AuditEvent.objects.filter(details_erased_at__isnull=True).count()
    call_command("apply_retention", "--dry-run")
    out = capsys.readouterr().out
    assert "run_logs" in out and "4 would go" in out
    assert "expired_exports" in out
    assert "Dry run:" in out
    assert RunLog.objects.count() == 6
    aged["export"].refresh_from_db()
    assert aged["export"].file_deleted_at is None
    assert AuditEvent.objects.filter(details_erased_at__isnull=True).count() == events_before


def test_it_applies_the_policy_once(aged):
    outcomes = {o.kind: o for o in retention.retention_apply()}
    assert outcomes["run_logs"].counts["workflows"] == 4
    assert outcomes["expired_exports"].counts["compliance"] == 1
    assert RunLog.objects.count() == 2
    export = aged["export"]
    export.refresh_from_db()
    assert export.file_deleted_at is not None
    assert not default_storage.exists(export.file_name)
    assert AuditEvent.objects.filter(action="retention.applied", target_id="run_logs").exists()
    # Running it again finds nothing.
    assert all(o.total == 0 for o in retention.retention_apply())
    assert tasks.retention_apply() == dict.fromkeys(retention.policy(), 0)


def test_it_blanks_old_audit_details_and_the_chain_still_verifies(aged):
    later = timezone.now() + timedelta(days=6 * 365 + 1)
    outcomes = {o.kind: o for o in retention.retention_apply(now=later)}
    assert outcomes["audit_details"].total > 0
    event = AuditEvent.objects.get(action="test.old")
    assert event.details == {} and event.details_erased_at is not None
    assert audit.verify().ok


def test_it_blanks_processed_webhook_payloads(db, settings):
    from billing.models import StripeEvent

    old = timezone.now() - timedelta(days=120)
    common = {"type": "invoice.paid", "stripe_created": old, "received_at": old, "payload": {"email": "x@y.test"}}
    done = StripeEvent.objects.create(stripe_id="evt_old", status="processed", **common)
    failed = StripeEvent.objects.create(stripe_id="evt_failed", status="failed", **common)
    fresh = StripeEvent.objects.create(
        stripe_id="evt_new", status="processed", **{**common, "received_at": timezone.now()}
    )
    outcomes = {o.kind: o for o in retention.retention_apply()}
    assert outcomes["webhook_payloads"].counts["billing"] == 1
    for event, payload in ((done, {}), (failed, common["payload"]), (fresh, common["payload"])):
        event.refresh_from_db()
        assert event.payload == payload, event.stripe_id


def test_it_schedules_the_daily_job():
    from levqor.schedules import JOBS

    jobs = {job.name: job for job in JOBS}
    assert jobs["levqor:compliance.apply_retention"].func == "compliance.dsar.tasks.retention_apply"
    assert jobs["levqor:compliance.dsar_sweep"].func == "compliance.dsar.tasks.exports_sweep"


def test_it_deletes_sla_attachments_a_while_after_the_decision(customer, settings):
    first_of_month = timezone.now().date().replace(day=1)
    filed = []
    for months_ago in (1, 2):  # claims are accepted for the last two months
        period = rules.month_period(rules.add_months(first_of_month, -months_ago))
        filed.append(
            support_services.sla_request_file(
                account=customer.account,
                user=customer,
                actor=customer,
                plan=customer.account.plan,
                period=period,
                impact="major",
                description="Down.",
                attachment=SimpleUploadedFile("log.txt", b"error at 10:02"),
            )
        )
    decided_long_ago, undecided = filed
    now = timezone.now()
    SlaCreditRequest.objects.filter(pk=decided_long_ago.pk).update(
        status="rejected", decided_at=now - timedelta(days=400)
    )
    old_file = SlaCreditRequest.objects.get(pk=decided_long_ago.pk).attachment.name
    assert default_storage.exists(old_file)

    outcomes = {o.kind: o for o in retention.retention_apply(now=now)}

    assert outcomes["sla_attachments"].counts == {"support": 1}
    gone = SlaCreditRequest.objects.get(pk=decided_long_ago.pk)
    assert not gone.attachment and gone.attachment_name == "" and gone.description == "Down."
    assert not default_storage.exists(old_file)
    assert SlaCreditRequest.objects.get(pk=undecided.pk).attachment  # undecided: kept whatever its age
    SlaCreditRequest.objects.filter(pk=undecided.pk).update(status="rejected", decided_at=now - timedelta(days=10))
    assert {o.kind: o for o in retention.retention_apply(now=now)}["sla_attachments"].total == 0
    assert SlaCreditRequest.objects.get(pk=undecided.pk).attachment  # decided lately: kept


def test_it_deletes_status_subscriptions_never_confirmed(db):
    now = timezone.now()
    stale = Subscriber.objects.create(email="never@example.test")
    fresh = Subscriber.objects.create(email="fresh@example.test")
    confirmed = Subscriber.objects.create(email="kept@example.test", confirmed_at=now - timedelta(days=300))
    Subscriber.objects.filter(pk__in=[stale.pk, confirmed.pk]).update(created_at=now - timedelta(days=300))

    outcomes = {o.kind: o for o in retention.retention_apply(now=now)}

    assert outcomes["status_unconfirmed_subscribers"].counts == {"status": 1}
    assert set(Subscriber.objects.values_list("pk", flat=True)) == {fresh.pk, confirmed.pk}
