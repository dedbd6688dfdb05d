"""Billing's Stripe calls for support: service credits applied as customer
balance credits, the customer behind a disputed charge, and a chargeback's
evidence submitted to the bank.

Support owns *when* a credit is due (an approved SLA credit request, claimed
by conditional update so one request calls this once at a time); this
module owns *how* Stripe is asked, so exactly one credit exists even across
retries, timeouts and workers:

1. Stripe's own `Idempotency-Key` (`idempotency_key`): a retried POST with
   the same key returns the first answer instead of crediting again
   (https://docs.stripe.com/api/idempotent_requests). Stripe keeps keys for
   24 hours, so:
2. the key is also written into the transaction's metadata, and before
   posting we look for a recent balance transaction carrying it; a retry
   days later finds the first credit and returns its id.

Every real call is reported through `levqor.lib.signals.external_contact` (the
status page shows when Stripe was last reached; billing never imports status).
"""

import io
import logging
import time

import stripe
from django.conf import settings
from djstripe.models import Charge
from djstripe.settings import djstripe_settings

from levqor.accounts.models import Account
from levqor.lib.signals import external_contact_report

from .payloads import id_of

logger = logging.getLogger(__name__)

METADATA_KEY = "levqor_idempotency_key"


class CreditError(Exception):
    """The credit could not be applied; the message is safe to show staff."""


def _api_key() -> str:
    return djstripe_settings.get_default_api_key(settings.STRIPE_LIVE_MODE)


def _record(ok: bool, started: float, error: str = "") -> None:
    latency_ms = int((time.monotonic() - started) * 1000)
    external_contact_report(sender=__name__, name="stripe", ok=ok, latency_ms=latency_ms, error=error)


def _existing(customer_id: str, idempotency_key: str, api_key: str) -> str | None:
    transactions = stripe.Customer.list_balance_transactions(customer_id, limit=100, api_key=api_key)
    for txn in transactions.get("data", []):
        if (txn.get("metadata") or {}).get(METADATA_KEY) == idempotency_key:
            return txn["id"]
    return None


def customer_balance_credit_find(*, account: Account, idempotency_key: str) -> str | None:
    """The id of the balance credit made with this key, if Stripe has one (an
    earlier attempt that timed out or whose worker died). Raises
    stripe.StripeError when Stripe cannot be asked."""
    return _existing(account.stripe_customer_id, idempotency_key, _api_key())


def customer_balance_credit(
    *, account: Account, amount_minor: int, currency: str, description: str, idempotency_key: str
) -> str:
    """Credit `amount_minor` to the account's Stripe customer balance (it pays
    towards the next invoices) and return the CustomerBalanceTransaction id
    (`cbtxn_…`). Safe to call twice with the same key: one credit, same id.
    Raises CreditError."""
    if amount_minor <= 0:
        raise CreditError("A credit must be a positive amount.")
    customer_id = account.stripe_customer_id
    if not customer_id:
        raise CreditError("This account has no Stripe customer, so there is nothing to credit.")
    api_key = _api_key()
    started = time.monotonic()
    try:
        found = _existing(customer_id, idempotency_key, api_key)
        if found:
            _record(True, started)
            return found
        txn = stripe.Customer.create_balance_transaction(
            customer_id,
            # Negative: a credit to the customer (https://docs.stripe.com/billing/customer/balance).
            amount=-int(amount_minor),
            currency=currency.lower(),
            description=description[:350],
            metadata={METADATA_KEY: idempotency_key},
            idempotency_key=idempotency_key,
            api_key=api_key,
        )
    except stripe.StripeError as exc:
        code = getattr(exc, "code", None) or getattr(getattr(exc, "error", None), "code", None) or type(exc).__name__
        _record(False, started, error=str(code))
        logger.warning("Stripe balance credit for account %s failed: %s", account.pk, code)
        raise CreditError(f"Stripe refused the credit ({code}).") from exc
    _record(True, started)
    return txn["id"]


def charge_customer_id(*, charge, livemode: bool = False) -> str:
    """The Stripe customer of a charge (an id or an expanded object): from
    the expanded object, else dj-stripe's mirror (synced with the dispute),
    else one API call. "" when unknown."""
    if isinstance(charge, dict):
        customer = id_of(charge.get("customer"))
        if customer:
            return customer
        charge = charge.get("id", "")
    if not charge:
        return ""
    mirrored = Charge.objects.filter(id=charge).values_list("customer_id", flat=True).first()
    if mirrored:
        return mirrored
    started = time.monotonic()
    try:
        fetched = stripe.Charge.retrieve(charge, api_key=djstripe_settings.get_default_api_key(livemode))
    except stripe.StripeError as exc:
        _record(False, started, error=str(getattr(exc, "code", None) or type(exc).__name__))
        return ""
    _record(True, started)
    return id_of(fetched.get("customer"))


class EvidenceError(Exception):
    """The evidence could not be submitted; the message is safe to show staff."""


def dispute_evidence_submit(*, dispute_id: str, evidence: dict, idempotency_key: str) -> dict:
    """Send a chargeback's evidence to Stripe and submit it to the bank
    (https://docs.stripe.com/api/disputes/update, `submit=true`). Returns
    Stripe's dispute. The idempotency key makes a retried call one submission.
    Raises EvidenceError."""
    started = time.monotonic()
    try:
        dispute = stripe.Dispute.modify(
            dispute_id, evidence=evidence, submit=True, idempotency_key=idempotency_key, api_key=_api_key()
        )
    except stripe.StripeError as exc:
        code = getattr(exc, "code", None) or getattr(getattr(exc, "error", None), "code", None) or type(exc).__name__
        _record(False, started, error=str(code))
        logger.warning("Stripe evidence submission for %s failed: %s", dispute_id, code)
        raise EvidenceError(f"Stripe refused the evidence ({code}).") from exc
    _record(True, started)
    return dict(dispute)


def dispute_evidence_file_upload(*, filename: str, content: bytes, idempotency_key: str) -> str:
    """Upload one evidence file to Stripe's Files API (multipart to
    `stripe.upload_api_base`, purpose `dispute_evidence`) and return its file
    id, to be set on the matching evidence field. The idempotency key makes
    a retried upload one file. Raises EvidenceError.
    https://docs.stripe.com/api/files/create"""
    upload = io.BytesIO(content)
    upload.name = filename  # Stripe reads the type from the name and the content
    started = time.monotonic()
    try:
        created = stripe.File.create(
            purpose="dispute_evidence", file=upload, idempotency_key=idempotency_key, api_key=_api_key()
        )
    except stripe.StripeError as exc:
        code = getattr(exc, "code", None) or getattr(getattr(exc, "error", None), "code", None) or type(exc).__name__
        _record(False, started, error=str(code))
        logger.warning("Stripe evidence file upload failed: %s", code)
        message = getattr(getattr(exc, "error", None), "message", None) or ""
        raise EvidenceError(f"Stripe refused the file {filename} ({code}){': ' + message if message else ''}.") from exc
    _record(True, started)
    return str(created["id"])
