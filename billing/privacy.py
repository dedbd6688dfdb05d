"""What billing holds about a person, for DSAR export, erasure and
retention. billing.json is subscription and invoice metadata only: fields
are picked from an allow-list, so no card or payment-method data can ever
reach an export. Erasing the account's only person also erases them at
Stripe (`billing.erasure`): subscriptions canceled, customer deleted."""

from djstripe.models import Invoice, Subscription, WebhookEventTrigger

from compliance.dsar.providers import ExportFile, Processing, Provider
from levqor.accounts.models import Account
from levqor.accounts.privacy import sole_member

from .erasure import account_processor_erase
from .models import DunningCase, StripeEvent

CHUNK = 500
SUBSCRIPTION_FIELDS = (
    "id",
    "status",
    "created",
    "start_date",
    "current_period_start",
    "current_period_end",
    "cancel_at",
    "cancel_at_period_end",
    "canceled_at",
    "ended_at",
    "trial_start",
    "trial_end",
    "currency",
    "livemode",
)
INVOICE_FIELDS = (
    "id",
    "number",
    "status",
    "created",
    "currency",
    "subtotal",
    "tax",
    "total",
    "amount_due",
    "amount_paid",
    "amount_remaining",
    "period_start",
    "period_end",
    "due_date",
    "paid",
    "attempt_count",
    "billing_reason",
    "livemode",
)
CASE_FIELDS = (
    "id",
    "stripe_subscription_id",
    "stripe_invoice_id",
    "status",
    "stage",
    "amount_due",
    "currency",
    "attempt_count",
    "opened_at",
    "closed_at",
)


def _pick(data: dict, fields) -> dict:
    return {name: data.get(name) for name in fields if name in data}


def _plan(data: dict) -> list[dict]:
    """The prices a subscription is on: product, amount, interval. Nothing else."""
    items = ((data.get("items") or {}).get("data")) or []
    prices = []
    for item in items:
        price = item.get("price") or item.get("plan") or {}
        recurring = price.get("recurring") or {}
        prices.append(
            {
                "price": price.get("id"),
                "product": price.get("product") if isinstance(price.get("product"), str) else None,
                "unit_amount": price.get("unit_amount", price.get("amount")),
                "currency": price.get("currency"),
                "interval": recurring.get("interval", price.get("interval")),
                "quantity": item.get("quantity"),
            }
        )
    return prices


def billing_rows(*, user):
    customer_id = Account.objects.filter(pk=user.account_id).values_list("stripe_customer_id", flat=True).first()
    if customer_id:
        subscriptions = Subscription.objects.filter(customer_id=customer_id).order_by("created")
        for data in subscriptions.values_list("stripe_data", flat=True).iterator(chunk_size=CHUNK):
            yield {"record": "subscription", **_pick(data or {}, SUBSCRIPTION_FIELDS), "prices": _plan(data or {})}
        invoices = Invoice.objects.filter(customer_id=customer_id).order_by("created")
        for data in invoices.values_list("stripe_data", flat=True).iterator(chunk_size=CHUNK):
            yield {"record": "invoice", **_pick(data or {}, INVOICE_FIELDS)}
    if user.account_id:
        cases = DunningCase.objects.filter(account_id=user.account_id).order_by("opened_at").values(*CASE_FIELDS)
        for case in cases.iterator(chunk_size=CHUNK):
            yield {"record": "payment_reminder_case", **case}


def erase_user(*, user, actor) -> dict:
    """Our copies of the person's invoice links; the cases keep amounts,
    stages and dates. When the person is the account's only one (the
    account closes), also the Stripe side: the steps are returned for
    compliance to keep on the request. The dunning emails sent to them are
    the outbox's, erased by compliance by address."""
    cases = 0
    summary: dict = {}
    if user.account_id:
        # Before the accounts provider closes the account: sole_member reads the active users.
        if sole_member(user):
            account = Account.objects.select_for_update().get(pk=user.account_id)
            summary["steps"] = account_processor_erase(account=account, actor=actor)
        cases = (
            DunningCase.objects.filter(account_id=user.account_id)
            .exclude(hosted_invoice_url="")
            .update(hosted_invoice_url="", failure_reason="")
        )
    return {"cases_anonymised": cases, **summary}


def prune_webhook_payloads(*, cutoff, dry_run: bool) -> int:
    """Blank processed events' stored payloads and delete dj-stripe's raw
    webhook bodies older than `cutoff`. Events not yet processed are kept
    whatever their age: they may still need to be re-processed."""

    events = StripeEvent.objects.filter(received_at__lt=cutoff, status=StripeEvent.Status.PROCESSED).exclude(payload={})
    triggers = WebhookEventTrigger.objects.filter(created__lt=cutoff).exclude(
        pk__in=StripeEvent.objects.exclude(status=StripeEvent.Status.PROCESSED)
        .filter(trigger__isnull=False)
        .values("trigger_id")
    )
    if dry_run:
        return events.count() + triggers.count()
    blanked = events.update(payload={})
    deleted = 0
    while True:
        ids = list(triggers.order_by("pk").values_list("pk", flat=True)[:1000])
        if not ids:
            break
        deleted += WebhookEventTrigger.objects.filter(pk__in=ids).delete()[0]
    return blanked + deleted


provider = Provider(
    name="billing",
    files={
        "billing.json": ExportFile(
            "Your organisation's subscriptions and invoices (status, amounts, periods, dates) and any "
            "payment-reminder cases. No card or payment-method data.",
            rows=billing_rows,
        )
    },
    erase=erase_user,
    covers=(
        "billing.DunningCase",
        "billing.StripeEvent",
        "accounts.Account",  # its Stripe customer id, forgotten on erasure
        "djstripe.Customer",
        "djstripe.Subscription",
        "djstripe.Invoice",
        "djstripe.Charge",
        "djstripe.PaymentMethod",
    ),
    prunes={"webhook_payloads": ("billing.StripeEvent", "djstripe.WebhookEventTrigger")},
    retention={"webhook_payloads": prune_webhook_payloads},
    processing=(
        Processing(
            activity="Subscriptions, invoices and failed-payment recovery (dunning)",
            subjects="Customers' account owners",
            data="Name, email address, Stripe customer and subscription ids, invoices and amounts, payment "
            "failures and decline codes, reminder emails sent",
            purpose="Bill for the service and recover failed payments before access is paused",
            legal_basis="Contract (art. 6(1)(b)) and legal obligation for accounting records (art. 6(1)(c))",
            retention_kind="webhook_payloads",
            recipients=("Stripe", "Resend (email delivery)", "Cloud hosting provider"),
        ),
    ),
)
