"""The dunning queue within a status: its first page read from an index on
SQLite too (the wider index also serves the sweep, so it replaces
billing_case_due_idx). Built before the old one is dropped."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("billing", "0006_erasedcustomer"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="dunningcase",
            index=models.Index(
                fields=["status", "next_action_at", "-opened_at", "-id"], name="billing_case_status_queue_idx"
            ),
        ),
        migrations.RemoveIndex(
            model_name="dunningcase",
            name="billing_case_due_idx",
        ),
    ]
