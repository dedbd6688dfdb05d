"""Copy every SupportEmail row into the one outbox (compliance.OutboundEmail)
under the (kind, about, stage) the new code computes (support/services/
common.py), so a sweep after the deploy never sends an already-sent email
again and the daily evidence reminder stays once a day per chargeback. The
next migration deletes the old table.

Old keys and what they become (kind is "support." + the template's name
without "support-"):

    dispute-opened:<dispute>               about the dispute, stage ""
    dispute-customer-message:<message>     about the dispute, stage "<message>"
    dispute-reply:<message>                about the dispute, stage "<message>"
    dispute-status:<dispute>:<uuid>        about the dispute, stage "<status>:<uuid>"
    chargeback-opened:<dispute>            about the dispute, stage ""
    evidence-due:<dispute>:<YYYY-MM-DD>    about the dispute, stage "<YYYY-MM-DD>"
    sla-filed:<request>                    about the request, stage ""
    sla-info:<message>                     about the request, stage "<message>"
    sla-decision:<request>:<uuid>          about the request, stage "<status>:<uuid>"
    sla-credit-applied:<request>           about the request, stage "credit-applied"

Safe to run twice (rows already copied are left alone).
"""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

# What the old code allowed: 5 failed sends, then the email waited for staff.
OLD_MAX_ATTEMPTS = 5
# The old claim lease: an email claimed less than this ago may be being sent right now.
OLD_CLAIM_LEASE = timedelta(minutes=10)
# Dispute status labels as the old status emails stored them (support.Dispute.Status).
DISPUTE_STATUS_BY_LABEL = {"Open": "open", "In review": "in-review", "Resolved": "resolved", "Closed": "closed"}


def outbox_key(email) -> tuple[str, str, str, str]:
    """(kind, about_type, about_id, stage) of one old SupportEmail row."""
    kind = "support." + email.template.removeprefix("support-")
    prefix, _, rest = email.key.partition(":")
    parts = rest.split(":")
    if email.sla_request_id:
        about_type, about_id = "support.slacreditrequest", str(email.sla_request_id)
    elif email.dispute_id:
        about_type, about_id = "support.dispute", str(email.dispute_id)
    else:  # never made by the old code; kept under its own key so it is not lost
        about_type, about_id = "support.supportemail", str(email.pk)
    if prefix in ("dispute-opened", "chargeback-opened", "sla-filed"):
        stage = ""
    elif prefix in ("dispute-customer-message", "dispute-reply", "sla-info"):
        stage = parts[0]
    elif prefix == "evidence-due":
        stage = parts[-1]
    elif prefix == "sla-credit-applied":
        stage = "credit-applied"
    elif prefix == "sla-decision":
        stage = f"{email.context.get('status', '')}:{parts[-1]}"
    elif prefix == "dispute-status":
        stage = f"{DISPUTE_STATUS_BY_LABEL.get(email.context.get('status_label'), '')}:{parts[-1]}"
    else:
        stage = email.key
    return kind, about_type, about_id, stage[:80]


def state(email, now) -> dict:
    """The outbox state of an old row: sent, skipped, failed for good, or still queued."""
    if email.sent_at:
        return {"status": "sent", "sent_at": email.sent_at, "closed_at": email.sent_at}
    if email.skipped:
        return {
            "status": "skipped",
            "closed_at": email.failed_at or email.created_at,
            "last_error": "Not sent: the recipient objected or has not consented.",
        }
    if email.attempts >= OLD_MAX_ATTEMPTS:
        return {"status": "failed", "closed_at": email.failed_at or now, "last_error": email.last_error}
    lease = email.claimed_at + OLD_CLAIM_LEASE if email.claimed_at else None
    return {
        "status": "queued",
        "next_attempt_at": now,
        "lease_until": lease if lease and lease > now else None,
        "last_error": email.last_error,
    }


def copy_to_outbox(apps, schema_editor):
    SupportEmail = apps.get_model("support", "SupportEmail")
    OutboundEmail = apps.get_model("compliance", "OutboundEmail")
    now = timezone.now()
    batch = []
    for email in SupportEmail.objects.order_by("pk").iterator(chunk_size=500):
        kind, about_type, about_id, stage = outbox_key(email)
        batch.append(
            OutboundEmail(
                kind=kind,
                about_type=about_type,
                about_id=about_id,
                stage=stage,
                template=email.template,
                to=email.to,
                context=email.context,
                purpose="transactional",
                created_at=email.created_at,
                attempts=email.attempts,
                **state(email, now),
            )
        )
        if len(batch) >= 500:
            OutboundEmail.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    OutboundEmail.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0002_credit_retries"),
        ("compliance", "0005_outbox_suppression"),
    ]

    # Backwards: the rows stay in the outbox (the old table comes back empty).
    operations = [migrations.RunPython(copy_to_outbox, migrations.RunPython.noop)]
