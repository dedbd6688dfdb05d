from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("status", "0007_api_keys_declared_status")]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="impact_override",
            field=models.CharField(
                blank=True,
                choices=[("none", "None"), ("minor", "Minor"), ("major", "Major"), ("critical", "Critical")],
                default="",
                editable=False,
                max_length=10,
            ),
        ),
    ]
