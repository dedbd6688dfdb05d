from django.db import migrations


class Migration(migrations.Migration):
    """Support's emails live in the one outbox now (copied by 0003)."""

    dependencies = [
        ("support", "0003_supportemail_to_outbox"),
    ]

    operations = [
        migrations.DeleteModel(
            name="SupportEmail",
        ),
    ]
