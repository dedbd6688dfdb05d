"""SLA credit requests: filing, more information, measuring, decisions and the Stripe credit."""

import logging
import uuid
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance import audit
from levqor.accounts.models import Account, User
from levqor.plans import PLAN_CHOICES
from status import sla

from .. import attachments, rules, selectors
from ..models import Impact, SlaCreditMessage, SlaCreditRequest
from .common import (
    CREDIT_CURRENCIES,
    CREDIT_CURRENCY_ERROR,
    DECISION_STATUSES,
    _customer_email,
    _email,
    _url,
)
from .credits import credit_queue

logger = logging.getLogger(__name__)

# --- SLA credit requests ---------------------------------------------------------------


def _measure(request: SlaCreditRequest, period: rules.Period, now: datetime) -> None:
    measured = sla.sla_measure(start=period.start_at, end=period.end_at, now=now)
    request.measured_at = now
    request.measured_uptime_percent = Decimal(str(measured.uptime_percent)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP
    )
    request.measured_downtime_seconds = measured.downtime_seconds
    request.measured_maintenance_seconds = measured.maintenance_seconds
    request.measured_observed_seconds = measured.observed_seconds
    request.measurement = measured.as_dict()
    request.monthly_fee_minor = rules.monthly_fee_minor(
        plan=request.account.plan, interval=request.account.billing_interval
    )
    already = selectors.sla_credited_for_month(account=request.account, month=period.month, exclude_pk=request.pk)
    request.suggested_credit_minor = rules.suggested_credit_minor(
        uptime_percent=request.measured_uptime_percent,
        fee_minor=request.monthly_fee_minor,
        already_credited_minor=already,
    )


def sla_request_check(
    *, account: Account, plan: str, period: rules.Period, impact: str, description: str, today: date | None = None
) -> None:
    """Every eligibility rule, as one ValidationError naming the fields."""
    today = today or timezone.now().astimezone(UTC).date()
    errors: dict[str, list[str]] = {}
    if plan not in dict(PLAN_CHOICES):
        errors["plan"] = [f"Choose one of: {', '.join(dict(PLAN_CHOICES))}."]
    if impact not in Impact.values:
        errors["impact"] = ["Choose Minor, Major or Critical."]
    if not (description or "").strip():
        errors["description"] = ["Describe what happened and how it affected you."]
    if period.start > today:
        errors["period"] = ["That period is in the future: a claim can only cover time that has passed."]
    elif today > rules.claim_deadline(period):
        errors["period"] = [
            f"Claims for that period were accepted until {rules.claim_deadline(period):%-d %B %Y} "
            "(the end of the second month after it)."
        ]
    if errors:
        raise ValidationError(errors)
    if not selectors.account_paying_during(account=account, start=period.start_at, end=period.end_at):
        raise ValidationError(
            {
                "period": [
                    "SLA credits need a paid subscription that was active during the claimed period "
                    "(a free trial has no fee to credit, and time before you started paying or after "
                    "you canceled is not covered)."
                ]
            }
        )
    existing = selectors.sla_request_open_for_month(account=account, month=period.month)
    if existing is not None:
        raise ValidationError(
            {
                "period": [
                    f"You already have an open request (#{existing.pk}) for {period.month:%B %Y}; "
                    "one open request per period. Add information to it instead."
                ]
            }
        )


@transaction.atomic
def sla_request_file(
    *,
    account: Account,
    user: User | None,
    plan: str,
    period: rules.Period,
    impact: str,
    description: str,
    attachment=None,
    via: str = "web",
    actor: User | None,
    actor_label: str = "",
    now: datetime | None = None,
) -> SlaCreditRequest:
    """File a request: check eligibility, measure the period's downtime, store,
    audit, email support. Raises ValidationError (nothing written)."""
    now = now or timezone.now()
    sla_request_check(
        account=account,
        plan=plan,
        period=period,
        impact=impact,
        description=description,
        today=now.astimezone(UTC).date(),
    )
    file_facts = attachments.attachment_check(attachment) if attachment else None
    request = SlaCreditRequest(
        account=account,
        user=user,
        filed_via=via,
        plan=plan,
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        period_month=period.month,
        impact=impact,
        description=description.strip(),
        created_at=now,
    )
    _measure(request, period, now)
    if file_facts:
        request.attachment_name, request.attachment_type, request.attachment_size = file_facts
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError:
        # Another submission for the same month won the race.
        raise ValidationError({"period": ["You already have an open request for this period."]}) from None
    if attachment:
        # Saved after the row so a refused request leaves no file behind.
        request.attachment.save(attachment.name, attachment, save=False)
        SlaCreditRequest.objects.filter(pk=request.pk).update(attachment=request.attachment.name)
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="support.sla_credit.filed",
        target=request,
        details={
            "account": account.pk,
            "period": f"{period.start}..{period.end}",
            "impact": impact,
            "measured_uptime_percent": str(request.measured_uptime_percent),
            "via": via,
        },
    )
    _email(
        template="support-sla-credit-received",
        about=request,
        to=settings.LEVQOR_SUPPORT_EMAIL,
        context={
            "request_id": request.pk,
            "account_name": account.name,
            "period": request.period_label,
            "impact": request.get_impact_display(),
            "measured": f"{request.measured_uptime_percent}%",
            "suggested": request.suggested_display,
            "admin_url": _url("admin:support_slacreditrequest_change", request.pk),
        },
    )
    # The customer's receipt, with the reference they can quote.
    _email(
        template="support-sla-credit-receipt",
        about=request,
        to=_customer_email(account, user),
        context={
            "request_id": request.pk,
            "period": request.period_label,
            "impact": request.get_impact_display(),
            "url": _url("support:sla_credit_detail", request.pk),
        },
    )
    return request


@transaction.atomic
def sla_request_add_info(*, request: SlaCreditRequest, user: User | None, body: str, actor, actor_label: str = ""):
    """The customer answers "needs more info": a message, back to pending,
    support emailed. Raises ValidationError when not asked or empty."""
    if not (body or "").strip():
        raise ValidationError({"body": ["Write the information support asked for."]})
    locked = SlaCreditRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != SlaCreditRequest.Status.NEEDS_MORE_INFO:
        raise ValidationError({"body": ["Support has not asked for more information on this request."]})
    message = SlaCreditMessage.objects.create(
        request=locked, kind=SlaCreditMessage.Kind.CUSTOMER, author=user, body=body.strip()
    )
    SlaCreditRequest.objects.filter(pk=locked.pk).update(status=SlaCreditRequest.Status.PENDING)
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="support.sla_credit.info_added",
        target=locked,
        details={"message": message.pk, "to": "pending"},
    )
    _email(
        template="support-sla-credit-info-added",
        about=locked,
        stage=str(message.pk),
        to=settings.LEVQOR_SUPPORT_EMAIL,
        context={
            "request_id": locked.pk,
            "account_name": locked.account.name,
            "admin_url": _url("admin:support_slacreditrequest_change", locked.pk),
        },
    )
    request.refresh_from_db()
    return message


@transaction.atomic
def sla_request_remeasure(*, request: SlaCreditRequest, actor, now: datetime | None = None) -> SlaCreditRequest:
    """Measure the period again (new rollups, a late incident). Audited. Safe to run twice."""
    now = now or timezone.now()
    locked = SlaCreditRequest.objects.select_for_update().get(pk=request.pk)
    period = rules.Period(locked.period_kind, locked.period_start, locked.period_end)
    before = str(locked.measured_uptime_percent)
    _measure(locked, period, now)
    locked.save()
    audit.record(
        actor=actor,
        action="support.sla_credit.measured",
        target=locked,
        details={"from": before, "to": str(locked.measured_uptime_percent)},
    )
    return locked


def sla_decision_check(
    *, request: SlaCreditRequest, status: str, credit_amount_minor: int, credit_currency: str
) -> None:
    """Validate a decision before anything is written (the admin form and the API call it)."""
    errors: dict[str, list[str]] = {}
    if status not in DECISION_STATUSES:
        errors["status"] = ["Decide needs-more-info, approved or rejected."]
    if credit_currency not in CREDIT_CURRENCIES:
        errors["credit_currency"] = [CREDIT_CURRENCY_ERROR]
    if credit_amount_minor < 0:
        errors["credit_amount_minor"] = ["A credit cannot be negative."]
    if status == SlaCreditRequest.Status.APPROVED and credit_amount_minor > 0:
        cap = request.monthly_fee_minor - selectors.sla_credited_for_month(
            account=request.account, month=request.period_month, exclude_pk=request.pk
        )
        if credit_amount_minor > cap:
            errors["credit_amount_minor"] = [
                f"At most {SlaCreditRequest.money(max(cap, 0), credit_currency)}: credits for a month are "
                "capped at one month's fee."
            ]
        if not request.account.stripe_customer_id:
            errors["credit_amount_minor"] = errors.get("credit_amount_minor", []) + [
                "The account has no Stripe customer: approve with a credit of 0 or link the customer first."
            ]
    if request.status == SlaCreditRequest.Status.APPROVED and (
        status != SlaCreditRequest.Status.APPROVED
        or credit_amount_minor != request.credit_amount_minor
        or credit_currency != request.credit_currency
    ):
        errors["status"] = errors.get("status", []) + [
            "This request is approved and its credit is fixed; only the notes can change."
        ]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def sla_request_decide(
    *,
    request: SlaCreditRequest,
    status: str,
    credit_amount_minor: int = 0,
    credit_currency: str = "GBP",
    notes_to_customer: str = "",
    internal_notes: str = "",
    actor: User | None,
    actor_label: str = "",
) -> bool:
    """Staff decision. Audited; the customer is emailed each decision, except
    that an approval with a credit is emailed only once Stripe has confirmed
    the credit (queued here, applied once however often this is called,
    retried with backoff). Returns False when nothing changed. Raises
    ValidationError."""
    locked = SlaCreditRequest.objects.select_for_update(of=("self",)).select_related("account").get(pk=request.pk)
    credit_currency = (credit_currency or "GBP").upper()
    if status != SlaCreditRequest.Status.APPROVED:
        credit_amount_minor = 0
    sla_decision_check(
        request=locked, status=status, credit_amount_minor=credit_amount_minor, credit_currency=credit_currency
    )
    unchanged = (
        locked.status == status
        and locked.credit_amount_minor == credit_amount_minor
        and locked.credit_currency == credit_currency
        and locked.notes_to_customer == notes_to_customer
        and locked.internal_notes == internal_notes
    )
    if unchanged:
        # Saving an approval again hands a credit that is due to the queue, and nothing else.
        credit_queue(locked)
        request.refresh_from_db()
        return False
    previous = locked.status
    customer_facing = (
        previous != status
        or locked.notes_to_customer != notes_to_customer
        or locked.credit_amount_minor != credit_amount_minor
    )
    locked.status = status
    locked.credit_amount_minor = credit_amount_minor
    locked.credit_currency = credit_currency
    locked.notes_to_customer = notes_to_customer
    locked.internal_notes = internal_notes
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    if status == SlaCreditRequest.Status.APPROVED and credit_amount_minor > 0 and not locked.credit_state:
        locked.credit_state = SlaCreditRequest.CreditState.PENDING  # owed until Stripe confirms it
    locked.save()
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="support.sla_credit.decided",
        target=locked,
        details={
            "from": previous,
            "to": status,
            "credit_amount_minor": credit_amount_minor,
            "credit_currency": credit_currency,
            "notes_to_customer": notes_to_customer,
        },
    )
    # No false words: while a credit is owed, the customer hears nothing until
    # Stripe confirms it; that email (credits._confirmed_email) carries the
    # decision, the credit and the latest notes.
    credit_owed = locked.credit_state in (*SlaCreditRequest.CREDIT_DUE, SlaCreditRequest.CreditState.FAILED)
    if customer_facing and not credit_owed:
        _email(
            template="support-sla-credit-decision",
            about=locked,
            stage=f"{locked.status}:{uuid.uuid4().hex}",  # every customer-facing decision: one email each
            to=_customer_email(locked.account, locked.user),
            context={
                "request_id": locked.pk,
                "period": locked.period_label,
                "status": locked.status,
                "status_label": locked.get_status_display(),
                "credit": locked.credit_display if locked.credit_confirmed else "",
                "stripe_reference": locked.stripe_credit_id if locked.credit_confirmed else "",
                "notes": notes_to_customer,
                "url": _url("support:sla_credit_detail", locked.pk),
            },
        )
    credit_queue(locked)
    request.refresh_from_db()
    return True
