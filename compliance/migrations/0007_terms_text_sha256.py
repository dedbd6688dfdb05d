"""The /terms document becomes the versioned text customers accept: each
acceptance keeps the SHA-256 of the words it accepted, and the full terms
(compliance/terms_first.py) are published as a version, current from now,
unless a version with that name exists. Existing acceptances get the hash of
their version's text as it stands now (the best record there is)."""

import hashlib

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

from compliance import terms_first


def forwards(apps, schema_editor):
    TermsVersion = apps.get_model("compliance", "TermsVersion")
    TermsAcceptance = apps.get_model("compliance", "TermsAcceptance")
    for version in TermsVersion.objects.filter(acceptances__isnull=False).distinct():
        digest = hashlib.sha256(version.text.encode()).hexdigest()
        TermsAcceptance.objects.filter(version=version, text_sha256="").update(text_sha256=digest)
    if not TermsVersion.objects.filter(version=terms_first.FIRST_VERSION).exists():
        TermsVersion.objects.create(
            version=terms_first.FIRST_VERSION,
            text=terms_first.first_text(support_email=settings.LEVQOR_SUPPORT_EMAIL),
            changelog=terms_first.FIRST_CHANGELOG,
            published_at=timezone.now(),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0006_privacyrequest"),
    ]

    operations = [
        migrations.AddField(
            model_name="termsacceptance",
            name="text_sha256",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="Of the version's exact text when it was accepted: a later edit of the text would not match.",
                max_length=64,
                verbose_name="SHA-256 of the text accepted",
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
