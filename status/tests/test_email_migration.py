"""The data migration that moves status's email records into the outbox:
each old row becomes the outbox email the new code would have queued (same
kind, about and stage), so nothing already sent is sent again.

The suite builds its database without migrations (`--nomigrations`), so this
runs only with them: `.venv/bin/pytest status/tests/test_email_migration.py --migrations`."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("status", "0002_oncall_drafts_maintenance_notices"), ("compliance", "0004_outbox")]
AFTER = [("status", "0004_drop_notification_and_email_alerts"), ("compliance", "0004_outbox")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_old_status_email_rows_become_outbox_emails_that_are_not_sent_again(django_capture_on_commit_callbacks):
    if type(settings.MIGRATION_MODULES).__name__ == "DisableMigrations":
        pytest.skip("needs the migrations: run with --migrations")
    apps = migrate(BEFORE)
    now = timezone.now()
    Incident = apps.get_model("status", "Incident")
    IncidentUpdate = apps.get_model("status", "IncidentUpdate")
    Subscriber = apps.get_model("status", "Subscriber")
    Notification = apps.get_model("status", "Notification")
    Alert = apps.get_model("status", "Alert")
    AlertDelivery = apps.get_model("status", "AlertDelivery")

    incident = Incident.objects.create(
        name="API errors", impact="major", status="investigating", started_at=now, created_at=now, updated_at=now
    )
    update = IncidentUpdate.objects.create(
        incident=incident, status="investigating", body="Looking.", display_at=now, created_at=now,
        updated_at=now, deliver_notifications=True,
    )  # fmt: skip
    sent_to, failing, given_up = (
        Subscriber.objects.create(email=f"{name}@example.test", confirmed_at=now - timedelta(days=1))
        for name in ("sent", "failing", "given-up")
    )
    Notification.objects.create(subscriber=sent_to, update=update, sent_at=now, attempts=1)
    Notification.objects.create(subscriber=failing, update=update, failed_at=now, attempts=2, error="send failed")
    Notification.objects.create(subscriber=given_up, update=update, failed_at=now, attempts=5, error="send failed")
    alert = Alert.objects.create(
        key="monitoring", episode=1, kind="down", subject="[Levqor on-call] Status monitoring is stale",
        text="No results.", raised_by="watchdog", created_at=now,
    )  # fmt: skip
    AlertDelivery.objects.create(alert=alert, channel="email", target="oncall@levqor.test", status="sent", sent_at=now)
    AlertDelivery.objects.create(alert=alert, channel="webhook", target="https://hooks.test/x", status="sent")

    migrate(AFTER)
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())  # everything back to the latest

    from compliance.models import OutboundEmail
    from compliance.outbox import services as outbox
    from status.models import AlertDelivery as Webhook

    rows = {(e.kind, e.about_type, e.about_id, e.stage): e for e in OutboundEmail.objects.all()}
    notice = ("status.incident-update", "status.incidentupdate", str(update.pk))
    assert set(rows) == {
        (*notice, f"subscriber-{sent_to.pk}"),
        (*notice, f"subscriber-{failing.pk}"),
        (*notice, f"subscriber-{given_up.pk}"),
        ("status.oncall-alert", "status.alert", str(alert.pk), "oncall@levqor.test"),
    }
    assert rows[(*notice, f"subscriber-{sent_to.pk}")].status == "sent"
    retried = rows[(*notice, f"subscriber-{failing.pk}")]
    assert (retried.status, retried.to, retried.attempts) == ("queued", "failing@example.test", 2)
    assert retried.headers["List-Unsubscribe"].startswith("<http://testserver/status/unsubscribe/")
    assert rows[(*notice, f"subscriber-{given_up.pk}")].status == "failed"
    oncall = rows[("status.oncall-alert", "status.alert", str(alert.pk), "oncall@levqor.test")]
    assert oncall.status == "sent" and oncall.subject == alert.subject
    assert list(Webhook.objects.values_list("target", flat=True)) == ["https://hooks.test/x"]

    # The new code computes the same keys: the fan-out queues nothing more,
    # and the outbox sends only the one still owed.
    from status import services

    with django_capture_on_commit_callbacks(execute=True):
        assert services.notifications_send(update_id=update.pk) == 0
    assert outbox.emails_retry_due() == 1
    assert [m.to for m in mail.outbox] == [["failing@example.test"]]
    assert "API errors" in mail.outbox[0].subject and "/status/unsubscribe/" in mail.outbox[0].body
