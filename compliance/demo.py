"""Demo data for compliance (called by `manage.py seed_demo`). Idempotent."""

import uuid

from django.contrib.auth import get_user_model
from django.utils import timezone

from . import abuse, marketing, objections, screening, terms
from .models import (
    AbuseSignal,
    CookieConsent,
    MarketingSubscription,
    ScreeningAppeal,
    ScreeningBlock,
    Suppression,
    TermsVersion,
)
from .outbox.services import address_suppress

DEMO_DRAFT = "2027-01-draft"


def seed(*, admin, stdout) -> None:
    screening.ensure_default_rules()
    now = timezone.now()
    # An address the outbox sends nothing to (as after a hard bounce); adding it twice adds nothing.
    address_suppress(address="bounced@example.test", reason=Suppression.Reason.BOUNCE, note="Demo: a hard bounce")

    # The full terms (migration 0007 publishes them on a migrated database),
    # and a draft of the next version: the same document with one change.
    version = terms.terms_first_ensure(actor=admin)
    TermsVersion.objects.get_or_create(
        version=DEMO_DRAFT,
        defaults={
            "text": version.text.replace(
                "except under the money-back guarantee described in our [refund policy](/refunds).",
                "except under the money-back guarantee described in our [refund policy](/refunds), "
                "which also says how to ask for a refund and how long it takes.",
            ),
            "changelog": "Section 5 (Cancellation) now points to how refunds are asked for. Not yet published.",
        },
    )

    customers = list(get_user_model().objects.filter(account__isnull=False).order_by("email"))
    for user in customers[:3]:
        terms.terms_accept(user=user, version=version, ip_address="192.0.2.10", mechanism="web")

    if not CookieConsent.objects.exists():
        for i, (f, a, m, how) in enumerate(
            [(True, True, True, "accept_all"), (False, False, False, "reject_all"), (True, False, False, "custom")]
        ):
            CookieConsent.objects.create(
                consent_id=uuid.UUID(int=i + 1),
                user=customers[i] if i < len(customers) else None,
                functional=f,
                analytics=a,
                marketing=m,
                banner_version="2026-11",
                mechanism=how,
                ip_hash="demo",
                created_at=now,
            )

    if not MarketingSubscription.objects.exists():
        for email in ("reader@demo.levqor.local", "pending@demo.levqor.local"):
            marketing.marketing_subscribe(email=email, source="web")
        reader = MarketingSubscription.objects.get(email="reader@demo.levqor.local")
        MarketingSubscription.objects.filter(pk=reader.pk).update(status="confirmed", confirmed_at=now)

    if customers:
        objections.objections_set(user=customers[-1], choices={"profiling": True}, source="web", actor=customers[-1])

    if not ScreeningBlock.objects.exists() and customers and customers[0].account_id:
        account = customers[0].account
        result = screening.screen_payload(
            account=account,
            kind="workflow_definition",
            payload={"name": "Clinic intake", "steps": [{"prompt": "Summarise the patient's diagnosis"}]},
        )
        if result.blocked:
            block = screening.record_block(account=account, kind="workflow_definition", result=result, actor=None)
            screening.appeal_submit(
                block=block,
                user=customers[0],
                explanation="Demo appeal: these are anonymised training records with no real patients.",
            )

    if not AbuseSignal.objects.exists():
        abuse.abuse_signal_record(kind="signup_burst", identifier="198.51.100.7", count=4, details={"demo": True})

    stdout.write(
        f"Compliance demo: terms {version.version}, {ScreeningAppeal.objects.count()} appeal(s), "
        f"{MarketingSubscription.objects.count()} subscription(s)."
    )
