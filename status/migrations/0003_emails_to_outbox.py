"""Status's emails move onto the one outbox (compliance.OutboundEmail).

Copies every subscriber `Notification` and every email-channel
`AlertDelivery` into the outbox with the (kind, about, stage) the new code
computes, so a sweep after the deploy never sends an already-sent email
again; the next migration drops the old table and channel.

State mapping. Notices: sent → "sent"; failed with retries left, on an
update of the last 6 hours (what the old sweep still retried) → "queued";
failed otherwise → "failed" (staff decide, as before); claimed with no
outcome (a worker stopped mid-send: it may have gone) → "failed", saying so.
On-call emails: sent → "sent"; failed and given up → "failed"; failed with
a retry planned, pending, or claimed by a stopped worker (which the old
watchdog resent) → "queued".

Not reversible in data: going back leaves the old tables empty.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import migrations
from django.urls import reverse
from django.utils import timezone

OLD_MAX_ATTEMPTS = 5  # the old Notification retries
OLD_SWEEP_WITHIN = timedelta(hours=6)
UNSUBSCRIBE_SALT = "status.subscriber.unsubscribe"  # noqa: S105 - status/services/subscribers.py's salt
BATCH = 1000


def _url(name, *args):
    return settings.LEVQOR_BASE_URL + reverse(f"status:{name}", args=args)


def _notice(row, now, unsubscribe):
    if row.update_id:
        update, kind, template = row.update, "status.incident-update", "status-incident-update"
        about_type, context = "status.incidentupdate", {"incident_url": _url("incident", update.incident.public_id)}
    else:
        update, kind, template = row.maintenance_update, "status.maintenance", "status-maintenance"
        about_type = "status.maintenanceupdate"
        context = {"maintenance_url": _url("incident", update.maintenance.public_id)}
    link = unsubscribe(row.subscriber)
    fields = {
        "kind": kind,
        "about_type": about_type,
        "about_id": str(update.pk),
        "stage": f"subscriber-{row.subscriber_id}",
        "template": template,
        "to": row.subscriber.email,
        "context": {**context, "unsubscribe_url": link},
        "tags": ["status"],
        "headers": {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        "created_at": row.claimed_at,
        "next_attempt_at": now,
        "attempts": row.attempts,
        "last_error": row.error,
    }
    if row.sent_at:
        fields.update(status="sent", sent_at=row.sent_at, closed_at=row.sent_at, last_error="")
    elif row.failed_at and row.attempts < OLD_MAX_ATTEMPTS and update.created_at >= now - OLD_SWEEP_WITHIN:
        fields.update(status="queued")
    elif row.failed_at:
        fields.update(status="failed", closed_at=row.failed_at)
    else:
        fields.update(
            status="failed",
            closed_at=now,
            last_error="Outcome unknown: it was being sent when the outbox replaced status's own table. "
            "Check with the subscriber before sending it again.",
        )
    return fields


def _oncall(row, now):
    fields = {
        "kind": "status.oncall-alert",
        "about_type": "status.alert",
        "about_id": str(row.alert_id),
        "stage": row.target[:80],
        "template": "status-oncall-alert",
        "to": row.target,
        "context": {"status_url": _url("page")},
        "tags": ["status", "oncall"],
        "created_at": row.alert.created_at,
        "next_attempt_at": now,
        "attempts": row.attempts,
        "last_error": row.last_error,
    }
    if row.status == "sent":
        fields.update(status="sent", sent_at=row.sent_at, closed_at=row.sent_at, subject=row.alert.subject[:300])
    elif row.status == "failed" and row.next_attempt_at is None:
        fields.update(status="failed", closed_at=now)
    elif row.status == "failed":
        fields.update(status="queued", next_attempt_at=row.next_attempt_at)
    else:  # pending, or claimed by a process that stopped: the old watchdog sent these again
        fields.update(status="queued", next_attempt_at=max(row.claimed_until or now, now))
    return fields


def copy_to_outbox(apps, schema_editor):
    OutboundEmail = apps.get_model("compliance", "OutboundEmail")
    Notification = apps.get_model("status", "Notification")
    AlertDelivery = apps.get_model("status", "AlertDelivery")
    now = timezone.now()
    links = {}

    def unsubscribe(subscriber):
        if subscriber.pk not in links:
            token = signing.dumps({"s": subscriber.pk, "e": subscriber.email}, salt=UNSUBSCRIBE_SALT)
            links[subscriber.pk] = _url("unsubscribe", token)
        return links[subscriber.pk]

    batch = []

    def flush():
        OutboundEmail.objects.bulk_create([OutboundEmail(**fields) for fields in batch], ignore_conflicts=True)
        batch.clear()

    notices = Notification.objects.select_related(
        "subscriber", "update__incident", "maintenance_update__maintenance"
    ).order_by("pk")
    for row in notices.iterator(chunk_size=BATCH):
        batch.append(_notice(row, now, unsubscribe))
        if len(batch) >= BATCH:
            flush()
    emails = AlertDelivery.objects.filter(channel="email").select_related("alert").order_by("pk")
    for row in emails.iterator(chunk_size=BATCH):
        batch.append(_oncall(row, now))
        if len(batch) >= BATCH:
            flush()
    flush()
    AlertDelivery.objects.filter(channel="email").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("status", "0002_oncall_drafts_maintenance_notices"),
        ("compliance", "0005_outbox_suppression"),
    ]

    operations = [migrations.RunPython(copy_to_outbox, migrations.RunPython.noop)]
