"""Demo dunning data for `seed_demo`: failing subscriptions at every stage,
made through the same services the webhooks and the sweep use, their Stripe
events, one failed event and one unmatched one. Idempotent: every object is
keyed (account name, subscription id, event id), so a second run creates
nothing (`billing/tests/test_demo.py`)."""

from datetime import timedelta

from django.utils import timezone

from levqor.accounts.models import Account
from levqor.accounts.services import account_create

from . import cases, dunning
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
        _store_event(f"evt_demo_{slug}", "invoice.payment_failed", invoice, subscription, at=failed_at)
        outcome = cases.failure_apply(invoice=invoice, event_id=f"evt_demo_{slug}", event_at=failed_at)
        case = outcome.case
        _stored(f"evt_demo_{slug}").update(note=outcome.note, case=case)
        if then in ("advance", "recover", "cancel"):
            dunning.case_advance(case_id=case.pk, now=now, actor=admin)
        if then == "recover":
            paid = {**invoice, "status": "paid", "amount_remaining": 0, "payment_intent": None}
            event_id = _store_event(f"evt_demo_paid_{slug}", "invoice.paid", paid, subscription, at=now)
            outcome = cases.payment_apply(
                subscription_id=subscription, event_id=event_id, event_at=now, reason="invoice.paid"
            )
            _stored(event_id).update(note=outcome.note, case=outcome.case)
        elif then == "cancel":
            deleted = {"id": subscription, "object": "subscription", "customer": account.stripe_customer_id}
            deleted["status"] = "canceled"
            event_id = _store_event(
                f"evt_demo_deleted_{slug}", "customer.subscription.deleted", deleted, subscription, at=now
            )
            outcome = cases.cancellation_apply(
                subscription_id=subscription, customer_id=account.stripe_customer_id, event_id=event_id, event_at=now
            )
            _stored(event_id).update(note=outcome.note, case=outcome.case)
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
    # A payment failure for a Stripe customer no account is linked to: kept
    # unmatched until staff link it (Stripe events → "Link the event's Stripe
    # customer to an account…"), which then opens its case.
    unlinked = {
        "id": "in_demo_unlinked",
        "object": "invoice",
        "customer": "cus_demo_unlinked",
        "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_demo_unlinked"}},
        "amount_due": AMOUNTS["pro"],
        "amount_remaining": AMOUNTS["pro"],
        "currency": "gbp",
        "attempt_count": 1,
        "next_payment_attempt": int((now + timedelta(days=3)).timestamp()),
        "hosted_invoice_url": "https://invoice.stripe.com/i/demo/in_demo_unlinked",
    }
    if not StripeEvent.objects.filter(stripe_id="evt_demo_unlinked_customer").exists():
        _store_event(
            "evt_demo_unlinked_customer",
            "invoice.payment_failed",
            unlinked,
            "sub_demo_unlinked",
            at=now - timedelta(hours=2),
            status=StripeEvent.Status.UNMATCHED,
            note="unmatched: Stripe customer cus_demo_unlinked is not linked to an account",
        )
    stdout.write(f"Billing demo: {created} dunning cases created ({len(DEMO_CASES) - created} already there).")


def _stored(stripe_id: str):
    return StripeEvent.objects.filter(stripe_id=stripe_id)


def _store_event(
    stripe_id: str,
    kind: str,
    obj: dict,
    subscription: str,
    *,
    at,
    status: str = StripeEvent.Status.PROCESSED,
    note: str = "",
) -> str:
    """The webhook as it would have been stored, for the admin's event log
    and the case timeline. Idempotent (keyed by the event id)."""
    StripeEvent.objects.get_or_create(
        stripe_id=stripe_id,
        defaults={
            "type": kind,
            "stripe_created": at,
            "customer_id": obj.get("customer") or "",
            "subscription_id": subscription,
            "object_id": obj["id"],
            "payload": {
                "id": stripe_id,
                "object": "event",
                "type": kind,
                "created": int(at.timestamp()),
                "data": {"object": obj},
            },
            "status": status,
            "note": note,
            "attempts": 1,
            "received_at": at,
            "last_attempt_at": at,
            "processed_at": at if status == StripeEvent.Status.PROCESSED else None,
        },
    )
    return stripe_id
