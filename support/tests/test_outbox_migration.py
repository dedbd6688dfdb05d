"""support 0003: the old `SupportEmail` rows land in the one outbox under the
(kind, about, stage) the new code computes, so after the deploy nothing
already sent goes out again, the evidence reminder stays once a day, and
what was still waiting is sent once.

The suite runs without migrations (`--nomigrations`), so the old table does
not exist here: the migration's copy function reads old rows from a stand-in
and writes the real outbox table, which the real services then use.
`.ci/run` applies every migration to an empty database."""

import importlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from django.apps import apps as real_apps
from django.core import mail
from django.utils import timezone

from compliance.models import OutboundEmail
from compliance.outbox.services import emails_retry_due
from support import services
from support.models import Dispute, DisputeMessage

migration = importlib.import_module("support.migrations.0003_supportemail_to_outbox")


class OldTable:
    """`apps` as the migration sees it: the old SupportEmail rows given, the
    outbox the real one."""

    def __init__(self, rows):
        self.rows = rows

    def get_model(self, app_label, name):
        if name == "SupportEmail":
            rows = self.rows
            return SimpleNamespace(
                objects=SimpleNamespace(order_by=lambda *_: SimpleNamespace(iterator=lambda **_: rows))
            )
        return real_apps.get_model(app_label, name)


def old_email(pk, key, template, *, sent_at=None, dispute=None, request=None, **fields):
    row = {
        "pk": pk,
        "key": key,
        "template": template,
        "to": "someone@acme.test",
        "context": {},
        "sla_request_id": request.pk if request else None,
        "dispute_id": dispute.pk if dispute else None,
        "created_at": sent_at or timezone.now(),
        "claimed_at": None,
        "sent_at": sent_at,
        "skipped": False,
        "attempts": 0,
        "failed_at": None,
        "last_error": "",
    }
    return SimpleNamespace(**{**row, **fields})


def test_it_moves_support_emails_into_the_outbox_under_the_new_keys(customer, django_capture_on_commit_callbacks):
    now = datetime(2026, 11, 22, 8, 7, tzinfo=UTC)
    today = timezone.localdate(now).isoformat()
    chargeback = Dispute.objects.create(
        source="chargeback",
        stripe_dispute_id="dp_due",
        category="billing",
        subject="Chargeback",
        stripe_status="needs_response",
        evidence_due_by=now + timedelta(days=2),
    )
    dispute = Dispute.objects.create(account=customer.account, user=customer, category="billing", subject="Bill")
    reply = DisputeMessage.objects.create(dispute=dispute, kind="reply", body="We are on it.")
    request = SimpleNamespace(pk=41)
    old = [
        old_email(
            1, f"chargeback-opened:{chargeback.pk}", "support-chargeback-opened", sent_at=now, dispute=chargeback
        ),
        old_email(2, f"evidence-due:{chargeback.pk}:{today}", "support-evidence-due", sent_at=now, dispute=chargeback),
        old_email(
            3,
            f"dispute-status:{dispute.pk}:abc123",
            "support-dispute-status",
            dispute=dispute,
            skipped=True,
            context={"status_label": "In review"},
        ),
        old_email(
            4,
            f"dispute-reply:{reply.pk}",
            "support-dispute-reply",
            dispute=dispute,
            attempts=2,
            last_error="ConnectionRefusedError",
            context={"dispute_id": dispute.pk, "subject": "Bill", "url": "https://levqor.test/d", "reply": "On it."},
        ),
        old_email(5, "sla-filed:41", "support-sla-credit-received", sent_at=now, request=request),
        old_email(
            6,
            "sla-decision:41:def456",
            "support-sla-credit-decision",
            request=request,
            attempts=5,
            last_error="ConnectionRefusedError",
            context={"status": "approved"},
        ),
        old_email(7, "sla-credit-applied:41", "support-sla-credit-decision", sent_at=now, request=request),
    ]
    migration.copy_to_outbox(OldTable(old), None)
    migration.copy_to_outbox(OldTable(old), None)  # safe to run twice

    rows = {(e.kind, e.about_key, e.stage): (e.status, e.attempts) for e in OutboundEmail.objects.all()}
    d, c, r = (
        f"support.dispute:{dispute.pk}",
        f"support.dispute:{chargeback.pk}",
        f"support.slacreditrequest:{request.pk}",
    )
    assert rows == {
        ("support.chargeback-opened", c, ""): ("sent", 0),
        ("support.evidence-due", c, today): ("sent", 0),
        ("support.dispute-status", d, "in-review:abc123"): ("skipped", 0),
        ("support.dispute-reply", d, str(reply.pk)): ("queued", 2),
        ("support.sla-credit-received", r, ""): ("sent", 0),
        ("support.sla-credit-decision", r, "approved:def456"): ("failed", 5),
        ("support.sla-credit-decision", r, "credit-applied"): ("sent", 0),
    }
    # Today's evidence reminder went out before the deploy: not again today, again tomorrow.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.evidence_reminders_send(now=now) == 0
        assert services.evidence_reminders_send(now=now + timedelta(days=1)) == 1
    assert [m.tags[0] for m in mail.outbox] == ["support-evidence-due"]
    assert emails_retry_due() == 1 and emails_retry_due() == 0  # the waiting reply, sent once
    assert [m.to for m in mail.outbox[1:]] == [["someone@acme.test"]] and "On it." in mail.outbox[1].body
