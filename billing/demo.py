"""Demo dunning data for `seed_demo`: failing subscriptions at every stage,
made through the same services the webhooks and the sweep use. Idempotent."""

from datetime import timedelta

from django.utils import timezone

from levqor.accounts.models import Account
from levqor.accounts.services import account_create

from . import services
from .models import DunningCase, StripeEvent

# (account name, plan, owner, days since the failure, what happens next, hard decline)
DEMO_CASES = (
    ("Dunning New Ltd", "starter", "dunning-new@demo.levqor.local", 0, "open", False),
    ("Dunning Day0 Ltd", "growth", "dunning-day0@demo.levqor.local", 2, "advance", False),
    ("Dunning Day7 Ltd", "pro", "dunning-day7@demo.levqor.local", 9, "advance", False),
    ("Overdue Demo Ltd", "growth", "overdue@demo.levqor.local", 16, "advance", False),
    ("Dunning Stolen Card Ltd", "business", "dunning-stolen@demo.levqor.local", 1, "advance", True),
    ("Dunning Recovered Ltd", "growth", "dunning-recovered@demo.levqor.local", 5, "recover", False),
    ("Dunning Canceled Ltd", "starter", "dunning-canceled@demo.levqor.local", 20, "cancel", False),
)
AMOUNTS = {"starter": 900, "growth": 2900, "pro": 5900, "business": 14900}


def _slug(name: str) -> str:
    return name.lower().replace(" ltd", "").replace(" ", "-")


def seed(*, admin, stdout) -> None:
    created = 0
    now = timezone.now()
    for name, plan, owner, days, then, hard in DEMO_CASES:
        slug = _slug(name)
        subscription = f"sub_demo_{slug}"
        if DunningCase.objects.filter(stripe_subscription_id=subscription).exists():
            continue
        account = Account.objects.filter(name=name).first() or account_create(
            name=name, plan=plan, owner_email=owner, billing_state="active", actor=admin
        )
        if not account.stripe_customer_id:
            account.stripe_customer_id = f"cus_demo_{slug}"
            account.save(update_fields=["stripe_customer_id"])
        failed_at = now - timedelta(days=days)
        invoice = {
            "id": f"in_demo_{slug}",
            "object": "invoice",
            "customer": account.stripe_customer_id,
            "parent": {"type": "subscription_details", "subscription_details": {"subscription": subscription}},
            "amount_due": AMOUNTS[plan],
            "amount_remaining": AMOUNTS[plan],
            "currency": "gbp",
            "attempt_count": min(4, 1 + days // 3),
            "next_payment_attempt": None if hard else int((now + timedelta(days=2)).timestamp()),
            "hosted_invoice_url": f"https://invoice.stripe.com/i/demo/in_demo_{slug}",
            "payment_intent": {
                "id": f"pi_demo_{slug}",
                "last_payment_error": {
                    "code": "card_declined",
                    "decline_code": "stolen_card" if hard else "insufficient_funds",
                    "message": "Your card was declined.",
                },
            },
        }
        # The webhook as it would have been stored (processed), for the
        # admin's event log and the case timeline.
        StripeEvent.objects.get_or_create(
            stripe_id=f"evt_demo_{slug}",
            defaults={
                "type": "invoice.payment_failed",
                "stripe_created": failed_at,
                "customer_id": account.stripe_customer_id,
                "subscription_id": subscription,
                "object_id": invoice["id"],
                "payload": {
                    "id": f"evt_demo_{slug}",
                    "object": "event",
                    "type": "invoice.payment_failed",
                    "created": int(failed_at.timestamp()),
                    "data": {"object": invoice},
                },
                "status": StripeEvent.Status.PROCESSED,
                "attempts": 1,
                "received_at": failed_at,
                "last_attempt_at": failed_at,
                "processed_at": failed_at,
            },
        )
        case = services.case_record_failure(invoice=invoice, event_id=f"evt_demo_{slug}", event_at=failed_at)
        if then == "advance":
            services.case_advance(case_id=case.pk, now=now, actor=admin)
        elif then == "recover":
            services.case_advance(case_id=case.pk, now=now, actor=admin)
            services.case_record_payment(
                subscription_id=subscription, event_id=f"evt_demo_paid_{slug}", event_at=now, reason="demo: paid"
            )
        elif then == "cancel":
            services.case_advance(case_id=case.pk, now=now, actor=admin)
            services.case_record_cancellation(
                subscription_id=subscription, event_id=f"evt_demo_deleted_{slug}", event_at=now
            )
        created += 1
    # One event whose processing failed while Stripe was unreachable: what
    # the "failed" filter and the "Reprocess now" action are for.
    StripeEvent.objects.get_or_create(
        stripe_id="evt_demo_failed_processing",
        defaults={
            "type": "invoice.payment_failed",
            "stripe_created": now,
            "customer_id": "cus_demo_unknown",
            "object_id": "in_demo_unknown",
            "payload": {
                "id": "evt_demo_failed_processing",
                "object": "event",
                "type": "invoice.payment_failed",
                "created": int(now.timestamp()),
                "data": {"object": {"id": "in_demo_unknown", "object": "invoice"}},
            },
            "status": StripeEvent.Status.FAILED,
            "attempts": 5,
            "last_error": "APIConnectionError: Unexpected error communicating with Stripe (demo).",
            "last_attempt_at": now,
        },
    )
    stdout.write(f"Billing demo: {created} dunning cases created ({len(DEMO_CASES) - created} already there).")
