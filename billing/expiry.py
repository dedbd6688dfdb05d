"""Pre-dunning: an email 30 and 7 days before the card Stripe will charge
expires, with the Billing Portal link, so the card is replaced before a
payment fails.

A daily sweep reads the dj-stripe mirror (each live account's default card,
as `billing.statement` picks it; the mirror is kept fresh by Stripe's
`payment_method.*` and `customer.*` events). Each reminder is one outbox
email of kind "billing.card-expiring" about the account, with stage
`<card id>:<yyyy-mm>:<30d|7d>`: once per card, expiry and stage, whoever
runs the sweep and however often. A card that is replaced (a new payment
method) or updated (a new expiry, as card updaters do) has a new stage key
and no longer matches, so the email still queued for it is dropped by
`card_expiring_prepare` when it would leave, and no later stage follows.
Only the nearest stage that is due is queued: a card first seen 5 days
before expiry gets the 7-day email only.
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from compliance.outbox import kinds
from compliance.outbox import services as outbox
from compliance.outbox.models import OutboundEmail
from levqor.accounts.models import Account
from levqor.accounts.selectors import account_owner

from . import statement
from .signup import LIVE_STATES

KIND = "billing.card-expiring"
TEMPLATE = "card-expiring"
STAGES = (30, 7)  # days before the card's last valid day


def last_valid_day(card: statement.Card) -> date | None:
    if not (1 <= card.exp_month <= 12) or card.exp_year < 2000:
        return None
    return date(card.exp_year, card.exp_month, calendar.monthrange(card.exp_year, card.exp_month)[1])


def stage_due(card: statement.Card, today: date) -> int | None:
    """The nearest reminder stage (in days) due for this card today, or None."""
    last = last_valid_day(card)
    if last is None:
        return None
    days_left = (last - today).days
    if days_left < 0:
        return None  # expired already: the payment failure (dunning) says so
    due = [days for days in STAGES if days_left <= days]
    return min(due) if due else None


@dataclass(frozen=True)
class Reminder:
    account: Account
    method_id: str
    card: statement.Card
    days: int

    @property
    def stage(self) -> str:
        return f"{self.method_id}:{self.card.exp_year:04d}-{self.card.exp_month:02d}:{self.days}d"


def _current_card(account: Account) -> tuple[str, statement.Card | None]:
    customer_id = account.stripe_customer_id or ""
    method = statement.default_method(customer_id, statement.current_subscription(customer_id))
    return (str((method or {}).get("id", "")), statement.card_of(method))


def reminders_due(*, today: date) -> list[Reminder]:
    """Each live account's default card that has a reminder due today."""
    due = []
    accounts = Account.objects.filter(billing_state__in=LIVE_STATES, stripe_customer_id__isnull=False).exclude(
        stripe_customer_id=""
    )
    for account in accounts.iterator(chunk_size=500):
        method_id, card = _current_card(account)
        days = stage_due(card, today) if card else None
        if days is not None and method_id:
            due.append(Reminder(account, method_id, card, days))
    return due


@transaction.atomic
def cards_expiring_notify(*, now: datetime) -> int:
    """The daily sweep: queue each due reminder once. Returns how many were
    queued now (0 on a rerun or on the second of two workers)."""
    queued = 0
    for reminder in reminders_due(today=now.date()):
        email = outbox.email_queue(
            kind=KIND,
            about=reminder.account,
            stage=reminder.stage,
            template=TEMPLATE,
            tags=["card-expiring", f"card-expiring-{reminder.days}d"],
            context={},
        )
        queued += email is not None
    return queued


def card_expiring_prepare(email: OutboundEmail, *, resend: bool) -> kinds.Prepared:
    """Outbox hook: the owner now and the card as it is now; dropped when the
    card was replaced or updated, or the account no longer pays."""
    account = Account.objects.filter(pk=email.about_id).first()
    if account is None:
        raise kinds.Drop("the account no longer exists")
    method_id, card = _current_card(account)
    stage_card, _, _ = email.stage.rpartition(":")
    current = f"{method_id}:{card.exp_year:04d}-{card.exp_month:02d}" if card else ""
    if not resend and (current != stage_card or account.billing_state not in LIVE_STATES):
        raise kinds.Drop("the card was updated or replaced, or the subscription ended")
    user = account_owner(account)
    if user is None:
        return kinds.Prepared(to="")  # no recipient yet: retried
    base = settings.LEVQOR_BASE_URL
    return kinds.Prepared(
        to=user.email,
        context={
            "user": user,
            "account": account,
            "brand": card.brand if card else "card",
            "last4": card.last4 if card else "",
            "expiry": card.expiry if card else "",
            "manage_url": base + reverse("billing:portal"),
            "billing_url": base + reverse("billing:overview"),
        },
    )
