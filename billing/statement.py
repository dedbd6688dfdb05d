"""What the customer's billing page shows, read from the dj-stripe mirror
(no Stripe call while rendering): the subscription (plan, interval, trial,
next invoice), the default card and the invoices. dj-stripe 2.11 keeps most
fields in each row's `stripe_data`, in whichever API shape Stripe sent
(localstripe's 2017 shape or the current one), so both are read."""

from dataclasses import dataclass
from datetime import datetime

from djstripe.models import Customer, Invoice, PaymentMethod, Subscription

from levqor.accounts.models import Account

from .payloads import id_of, stripe_time

CURRENT_STATUSES = ("trialing", "active", "past_due", "unpaid", "incomplete", "paused")
INVOICES_SHOWN = 24


def money(amount_minor: int | None, currency: str) -> str:
    if amount_minor is None:
        return ""
    symbol = {"gbp": "£", "usd": "$", "eur": "€"}.get((currency or "").lower(), "")
    major = f"{amount_minor / 100:,.2f}"
    return f"{symbol}{major}" if symbol else f"{major} {(currency or '').upper()}"


@dataclass(frozen=True)
class Card:
    brand: str
    last4: str
    exp_month: int
    exp_year: int

    @property
    def expiry(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year}"


@dataclass(frozen=True)
class InvoiceRow:
    number: str
    date: datetime | None
    amount: str
    status: str
    hosted_url: str
    pdf_url: str


@dataclass(frozen=True)
class Statement:
    status: str  # the Stripe subscription's status, "" without one
    trial_end: datetime | None
    next_invoice_at: datetime | None  # None when it ends at the period's end
    next_invoice_amount: str
    cancels_at: datetime | None
    card: Card | None
    invoices: list[InvoiceRow]


def current_subscription(customer_id: str) -> dict | None:
    """The customer's newest subscription that is not over, as Stripe sent it."""
    rows = Subscription.objects.filter(customer_id=customer_id).order_by("-created")
    data = [row.stripe_data for row in rows[:10]]
    current = [item for item in data if item.get("status") in CURRENT_STATUSES]
    return (current or [None])[0]


def _period_end(subscription: dict) -> datetime | None:
    end = subscription.get("current_period_end")
    if not end:  # current API: the period lives on the items
        items = (subscription.get("items") or {}).get("data") or []
        end = items[0].get("current_period_end") if items else None
    return stripe_time(end)


def _amount(subscription: dict) -> str:
    items = (subscription.get("items") or {}).get("data") or []
    total, currency = 0, ""
    for item in items:
        price = item.get("price") or item.get("plan") or {}
        unit = price.get("unit_amount", price.get("amount")) or 0
        total += int(unit) * int(item.get("quantity") or 1)
        currency = price.get("currency") or currency
    return money(total, currency) if items else ""


def card_of(method: dict | None) -> Card | None:
    card = (method or {}).get("card") or {}
    if not card.get("last4"):
        return None
    return Card(
        brand=str(card.get("brand") or "card").title(),
        last4=str(card["last4"]),
        exp_month=int(card.get("exp_month") or 0),
        exp_year=int(card.get("exp_year") or 0),
    )


def default_method(customer_id: str, subscription: dict | None) -> dict | None:
    """The card Stripe will charge: the subscription's default, else the
    customer's invoice default, else the newest card on file."""
    customer = Customer.objects.filter(id=customer_id).first()
    wanted = [id_of((subscription or {}).get("default_payment_method"))]
    if customer is not None:
        settings_ = customer.stripe_data.get("invoice_settings") or {}
        wanted += [id_of(settings_.get("default_payment_method")), customer.default_payment_method_id or ""]
    for method_id in filter(None, wanted):
        method = PaymentMethod.objects.filter(id=method_id).first()
        if method is not None:
            return method.stripe_data
    newest = PaymentMethod.objects.filter(customer_id=customer_id).order_by("-created").first()
    return newest.stripe_data if newest is not None else None


def invoices_of(customer_id: str) -> list[InvoiceRow]:
    rows = []
    for invoice in Invoice.objects.filter(customer_id=customer_id).order_by("-created")[:INVOICES_SHOWN]:
        data = invoice.stripe_data
        rows.append(
            InvoiceRow(
                number=str(data.get("number") or invoice.id),
                date=stripe_time(data.get("created") or data.get("date")),
                amount=money(data.get("total", data.get("amount_due")), data.get("currency", "")),
                status=str(data.get("status") or ""),
                hosted_url=str(data.get("hosted_invoice_url") or ""),
                pdf_url=str(data.get("invoice_pdf") or ""),
            )
        )
    return rows


def statement_for(account: Account) -> Statement | None:
    """The account's billing statement from the mirror; None without a Stripe customer."""
    customer_id = account.stripe_customer_id
    if not customer_id:
        return None
    subscription = current_subscription(customer_id)
    sub = subscription or {}
    ends = bool(sub.get("cancel_at_period_end")) or bool(sub.get("cancel_at"))
    period_end = _period_end(sub) if subscription else None
    trial_end = stripe_time(sub.get("trial_end")) if sub.get("status") == "trialing" else None
    return Statement(
        status=str(sub.get("status") or ""),
        trial_end=trial_end,
        next_invoice_at=None if ends else (trial_end or period_end),
        next_invoice_amount="" if ends else _amount(sub),
        cancels_at=(stripe_time(sub.get("cancel_at")) or period_end) if ends else None,
        card=card_of(default_method(customer_id, subscription)),
        invoices=invoices_of(customer_id),
    )
