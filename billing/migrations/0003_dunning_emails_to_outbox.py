"""Copy billing's dunning email claims (`DunningNotice`) and their send log
(`EmailLog`) into the one outbox (`compliance.OutboundEmail`), with the
(kind, about, stage) the new code queues, so the outbox's sweep never sends
an email that already left, and still sends the ones that had not. The old
tables are deleted by the next migration.

Mapping: sent → "sent" (address, subject and time of the first send, staff
resends counted); not sent on purpose → "dropped" ("skipped" when the email
policy refused it); not sent yet → "queued" (attempts and next attempt
kept), or "failed" when it already used up the outbox's attempts."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

KIND = "billing.dunning"
ABOUT_TYPE = "billing.dunningcase"
RECOVERED = "recovered"
# The templates as they were when this migration was written (billing/stages.py, billing/notices.py).
REMINDER_TEMPLATE = "dunning-reminder"
RECOVERED_TEMPLATE = "dunning-recovered"
BATCH = 1000


def _template_and_tags(stage: str) -> tuple[str, list[str]]:
    if stage == RECOVERED:
        return RECOVERED_TEMPLATE, ["dunning"]
    return REMINDER_TEMPLATE, ["dunning", f"dunning-{stage}"]


def _logs_by_claim(EmailLog) -> dict:
    """{(case id, kind): [log rows oldest first]}: what the provider accepted."""
    logs: dict = {}
    for log in EmailLog.objects.order_by("sent_at", "pk").iterator(chunk_size=BATCH):
        logs.setdefault((log.case_id, log.kind), []).append(log)
    return logs


def _sent(row: dict, logs: list, sent_at) -> dict:
    first = next((log for log in logs if not log.resend), logs[0] if logs else None)
    return {
        **row,
        "status": "sent",
        "to": first.to if first else "",
        "subject": first.subject[:300] if first else "",
        "sent_at": sent_at,
        "closed_at": sent_at,
        "resends": sum(1 for log in logs if log.resend),
        "last_error": "",
    }


def copy_to_outbox(apps, schema_editor):
    DunningNotice = apps.get_model("billing", "DunningNotice")
    EmailLog = apps.get_model("billing", "EmailLog")
    OutboundEmail = apps.get_model("compliance", "OutboundEmail")
    max_attempts = settings.LEVQOR_EMAIL_MAX_ATTEMPTS
    now = timezone.now()
    logs = _logs_by_claim(EmailLog)
    batch = []

    def flush():
        OutboundEmail.objects.bulk_create(batch, ignore_conflicts=True)
        batch.clear()

    for notice in DunningNotice.objects.order_by("pk").iterator(chunk_size=BATCH):
        claim_logs = logs.pop((notice.case_id, notice.kind), [])
        template, tags = _template_and_tags(notice.kind)
        row = {
            "kind": KIND,
            "about_type": ABOUT_TYPE,
            "about_id": str(notice.case_id),
            "stage": notice.kind,
            "template": template,
            "tags": tags,
            "purpose": "transactional",
            "created_at": notice.claimed_at,
            "attempts": notice.deliveries,
            "last_error": notice.last_error,
            "next_attempt_at": notice.lease_until,
        }
        if notice.sent_at or claim_logs:
            row = _sent(row, claim_logs, notice.sent_at or claim_logs[0].sent_at)
        elif notice.dropped_at:
            refused = "email policy" in notice.last_error
            row.update(status="skipped" if refused else "dropped", closed_at=notice.dropped_at)
        elif notice.deliveries >= max_attempts and notice.last_error:
            row.update(status="failed", closed_at=now)
        else:
            row.update(status="queued")
        batch.append(OutboundEmail(**row))
        if len(batch) >= BATCH:
            flush()
    # Sent emails whose claim is gone (the log outlived it).
    for (case_id, kind), claim_logs in logs.items():
        template, tags = _template_and_tags(kind)
        row = {
            "kind": KIND,
            "about_type": ABOUT_TYPE,
            "about_id": str(case_id),
            "stage": kind,
            "template": template,
            "tags": tags,
            "purpose": "transactional",
            "created_at": claim_logs[0].sent_at,
            "attempts": 1,
        }
        batch.append(OutboundEmail(**_sent(row, claim_logs, claim_logs[0].sent_at)))
        if len(batch) >= BATCH:
            flush()
    flush()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_unmatched_events_and_dropped_notices"),
        ("compliance", "0005_outbox_suppression"),
    ]

    # Backwards: the next migration's reverse recreates the old tables empty;
    # the outbox rows stay (they are the record of what was sent).
    operations = [migrations.RunPython(copy_to_outbox, migrations.RunPython.noop)]
