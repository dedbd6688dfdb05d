"""Failed sends were logged here; every email is now a row of the outbox
(compliance.OutboundEmail). Failures nobody had handled move there as
failed emails, so staff still see them; handled ones move as handled."""

from django.db import migrations


def forwards(apps, schema_editor):
    EmailFailure = apps.get_model("levqor", "EmailFailure")
    OutboundEmail = apps.get_model("compliance", "OutboundEmail")
    rows = [
        OutboundEmail(
            kind="legacy.failed-send",
            about_type="levqor.emailfailure",
            about_id=str(failure.pk),
            template=failure.template,
            to=failure.to,
            purpose=failure.purpose or "transactional",
            status="failed",
            created_at=failure.failed_at,
            next_attempt_at=failure.failed_at,
            attempts=1,
            last_error=failure.error,
            closed_at=failure.resolved_at or failure.failed_at,
            handled_note=(failure.resolution or "resolved")[:200] if failure.resolved_at else "",
        )
        for failure in EmailFailure.objects.all().iterator()
    ]
    OutboundEmail.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("levqor", "0001_email_failure"),
        ("compliance", "0005_outbox_suppression"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.DeleteModel(name="EmailFailure"),
    ]
