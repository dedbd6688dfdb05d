"""Done-for-you orders against the /dfy-contract timelines: purchase (a
Stripe Checkout in payment mode, or staff), payment, brief and access (which
fix the start and due dates), the customer's delay, delivery, revision
rounds, acceptance (confirmed, or automatic when the ten-business-day window
ends). Every change audited; the customer is emailed at each milestone
through the outbox, once per (order, stage):

    support.dfy-received   order  ""                    (paid: what we need next, the brief and access)
    support.dfy-started    order  ""                    (the start and due dates)
    support.dfy-extended   order  "<due date>"          (clause 2.4: the revised delivery date)
    support.dfy-delivered  order  "delivery-<n>"        (each delivery: the acceptance window's last day)
    support.dfy-revision   order  "<workflow>:<round>"  (a revision round acknowledged)
    support.dfy-accepted   order  ""                    (confirmed, in live use, or the window ended)
    support.dfy-late       order  "<due date>"          (overdue: an apology and the clause 2.5 refund right)
"""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.purchases import Purchase
from compliance import audit
from compliance.outbox.services import email_queue
from levqor.accounts.models import Account, User
from levqor.plans import CURRENCY, DFY_TIERS, MONEY_BACK_DAYS, gbp

from ..businessdays import add_business_days, next_business_day
from ..models import DfyOrder
from .common import _customer_email, _url, email_kind

_TIERS = {tier.code: tier for tier in DFY_TIERS}
STEPS = {"paid": "paid_at", "brief": "brief_approved_at", "access": "access_given_at"}
ACCEPTED_HOW = {
    "confirmed": "you confirmed it",
    "live-use": "you started using it for live work",
    "window-ended": "the ten-business-day acceptance window ended without a defect report",
}


def _today(now: datetime) -> date:
    return timezone.localdate(now)


def _due(order: DfyOrder) -> date:
    """Contract 2.3: the timeline is counted in business days from the start
    date, which is itself the first business day of work: the start date is
    day 1, so a 7-business-day build started on a Monday is due the Tuesday
    after (add_business_days counts the days after its first argument)."""
    return add_business_days(order.start_date, order.business_days_max - 1 + order.extension_days)


def _day(value: date | None) -> str:
    return value.strftime("%A %-d %B %Y") if value else ""


def _email(order: DfyOrder, template: str, *, stage: str = "", **context) -> bool:
    """Queue one DFY email to the account's owner, once per (kind, order, stage)."""
    to = _customer_email(order.account, None)
    if not to:
        return False
    queued = email_queue(
        kind=email_kind(template),
        about=order,
        stage=stage,
        template=template,
        to=to,
        context={
            "order_id": order.pk,
            "tier": order.get_tier_display(),
            "workflows": order.workflows,
            "url": _url("support:dfy_order_detail", order.pk),
            "contract_url": _url("pages:dfy_contract"),
            **context,
        },
    )
    return queued is not None


def _locked(order: DfyOrder) -> DfyOrder:
    return DfyOrder.objects.select_for_update().get(pk=order.pk)


@transaction.atomic
def dfy_order_create(*, account: Account, tier: str, actor: User | None, **stripe_fields) -> DfyOrder:
    """An order for one purchase, priced from the locked DFY catalogue. Audited."""
    if tier not in _TIERS:
        raise ValidationError({"tier": [f"Choose one of: {', '.join(_TIERS)}."]})
    facts = _TIERS[tier]
    order = DfyOrder.objects.create(
        account=account,
        tier=tier,
        price=facts.price,
        workflows=facts.workflows,
        business_days_min=facts.business_days_min,
        business_days_max=facts.business_days_max,
        revisions_used={str(n): 0 for n in range(1, facts.workflows + 1)},
        **stripe_fields,
    )
    details = {"tier": tier, "price": facts.price}
    if stripe_fields.get("stripe_checkout_session_id"):
        details["checkout_session"] = stripe_fields["stripe_checkout_session_id"]
    audit.record(actor=actor, action="support.dfy.created", target=order, details=details)
    return order


def dfy_order_purchased(purchase: Purchase) -> str:
    """A DFY tier bought through Stripe Checkout (billing's purchase hook):
    exactly one order per Checkout Session, whichever of Stripe's events
    arrives first, however often, on however many workers (the session id is
    unique; the loser of a race finds the winner's order). Paid: payment is
    recorded (status awaiting-brief, the received email). Returns the note
    for the event log."""
    tier = purchase.metadata.get("dfy_tier", "")
    if tier not in _TIERS:
        return f"ignored: no DFY tier in the checkout's metadata ({tier or 'none'})"
    account_id = purchase.metadata.get("account", "")
    account = Account.objects.filter(pk=int(account_id)).first() if account_id.isdigit() else None
    if account is None:
        return f"needs staff: DFY checkout {purchase.session_id} names no known account"
    with transaction.atomic():
        order = DfyOrder.objects.filter(stripe_checkout_session_id=purchase.session_id).first()
        created = order is None
        if created:
            try:
                with transaction.atomic():
                    order = dfy_order_create(
                        account=account,
                        tier=tier,
                        actor=None,
                        stripe_checkout_session_id=purchase.session_id,
                        stripe_payment_intent_id=purchase.payment_intent_id[:255],
                        stripe_customer_id=purchase.customer_id[:255],
                        amount_paid_minor=purchase.amount_minor,
                        currency=purchase.currency,
                    )
            except IntegrityError:  # another worker made it first
                created = False
                order = DfyOrder.objects.get(stripe_checkout_session_id=purchase.session_id)
        if purchase.paid:
            if not order.stripe_payment_intent_id and purchase.payment_intent_id:
                DfyOrder.objects.filter(pk=order.pk, stripe_payment_intent_id="").update(
                    stripe_payment_intent_id=purchase.payment_intent_id[:255]
                )
            dfy_order_step(order=order, step="paid", actor=None, now=purchase.at, via=purchase.event_id)
    expected = _TIERS[tier].price * 100
    note = f"DFY order #{order.pk} ({tier}) {'created' if created else 'already recorded'}"
    note += ", paid" if purchase.paid else ", awaiting payment"
    if purchase.amount_minor is not None and (purchase.amount_minor != expected or purchase.currency != CURRENCY):
        note = f"needs staff: {note}; Stripe charged {purchase.amount_minor} {purchase.currency}, catalogue {expected}"
    return note


@transaction.atomic
def dfy_order_step(
    *, order: DfyOrder, step: str, actor: User | None, now: datetime | None = None, via: str = ""
) -> bool:
    """Record payment, the approved brief or the access given (each once).
    When all three are in, the start date is the next business day and the
    due date follows. Returns whether anything changed. `via`: the Stripe
    event that reported the payment, for the audit trail."""
    if step not in STEPS:
        raise ValidationError({"step": [f"Choose one of: {', '.join(STEPS)}."]})
    now = now or timezone.now()
    locked = _locked(order)
    if getattr(locked, STEPS[step]) is not None:
        return False
    setattr(locked, STEPS[step], now)
    details: dict = {"step": step}
    if via:
        details["stripe_event"] = via
    if step == "paid" and locked.status == DfyOrder.Status.AWAITING_PAYMENT:
        locked.status = DfyOrder.Status.AWAITING_BRIEF
    started = all(getattr(locked, field) for field in STEPS.values()) and locked.start_date is None
    if started:
        locked.start_date = next_business_day(_today(now))
        locked.due_date = _due(locked)
        locked.status = DfyOrder.Status.BUILDING
        details.update(start_date=str(locked.start_date), due_date=str(locked.due_date))
    locked.save()
    audit.record(actor=actor, action="support.dfy.step", target=locked, details=details)
    if step == "paid":
        _email(
            locked,
            "support-dfy-received",
            price=gbp(locked.price),
            money_back_days=MONEY_BACK_DAYS,
            brief_given=locked.brief_approved_at is not None,
            access_given=locked.access_given_at is not None,
        )
    if started:
        _email(
            locked,
            "support-dfy-started",
            start_date=_day(locked.start_date),
            due_date=_day(locked.due_date),
            business_days=locked.business_days_max,
        )
    return True


@transaction.atomic
def dfy_order_extend(*, order: DfyOrder, days: int, reason: str, actor: User) -> DfyOrder:
    """The customer took longer than two business days (clause 2.4): the due date moves by `days` business days."""
    if days < 1 or days > 60:
        raise ValidationError({"days": ["Between 1 and 60 business days."]})
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say what the customer was late with."]})
    locked = _locked(order)
    if locked.start_date is None or locked.status not in DfyOrder.IN_PROGRESS:
        raise ValidationError({"days": ["Only a build under way can be extended."]})
    before = locked.due_date
    locked.extension_days += days
    locked.due_date = _due(locked)
    locked.save()
    audit.record(
        actor=actor,
        action="support.dfy.extended",
        target=locked,
        details={"days": days, "reason": reason.strip(), "from": str(before), "to": str(locked.due_date)},
    )
    _email(
        locked,
        "support-dfy-extended",
        stage=str(locked.due_date),
        days=days,
        reason=reason.strip(),
        due_date=_day(locked.due_date),
    )
    return locked


@transaction.atomic
def dfy_order_deliver(*, order: DfyOrder, actor: User, now: datetime | None = None) -> DfyOrder:
    """The build (or a revision) is ready: the ten-business-day acceptance window opens."""
    now = now or timezone.now()
    locked = _locked(order)
    if locked.status not in (DfyOrder.Status.BUILDING, DfyOrder.Status.REVISION):
        raise ValidationError({"status": ["Only a build or a revision can be delivered."]})
    locked.status = DfyOrder.Status.DELIVERED
    locked.delivered_at = now
    locked.acceptance_ends_on = add_business_days(_today(now), DfyOrder.ACCEPTANCE_BUSINESS_DAYS)
    late = locked.due_date is not None and _today(now) > locked.due_date
    locked.save()
    audit.record(
        actor=actor,
        action="support.dfy.delivered",
        target=locked,
        details={"acceptance_ends_on": str(locked.acceptance_ends_on), "late": late},
    )
    _email(
        locked,
        "support-dfy-delivered",
        stage=f"delivery-{locked.deliveries}",
        acceptance_ends_on=_day(locked.acceptance_ends_on),
        revision=locked.deliveries > 1,
    )
    return locked


@transaction.atomic
def dfy_order_revision(*, order: DfyOrder, workflow: int, actor: User | None) -> DfyOrder:
    """A revision round on one workflow, within the two included (clause 3.1)."""
    locked = _locked(order)
    if locked.status != DfyOrder.Status.DELIVERED:
        raise ValidationError({"workflow": ["Revisions are asked for on a delivered build."]})
    key = str(workflow)
    if key not in locked.revisions_used:
        raise ValidationError({"workflow": [f"Choose a workflow from 1 to {locked.workflows}."]})
    if locked.revisions_used[key] >= DfyOrder.REVISIONS_PER_WORKFLOW:
        raise ValidationError({"workflow": ["Both revision rounds are used: a further round is a change request."]})
    locked.revisions_used = {**locked.revisions_used, key: locked.revisions_used[key] + 1}
    locked.status = DfyOrder.Status.REVISION
    locked.acceptance_ends_on = None
    locked.save()
    audit.record(
        actor=actor,
        action="support.dfy.revision",
        target=locked,
        details={"workflow": workflow, "round": locked.revisions_used[key]},
    )
    _email(
        locked,
        "support-dfy-revision",
        stage=f"{workflow}:{locked.revisions_used[key]}",
        workflow=workflow,
        round=locked.revisions_used[key],
        rounds=DfyOrder.REVISIONS_PER_WORKFLOW,
    )
    return locked


@transaction.atomic
def dfy_order_accept(*, order: DfyOrder, how: str, actor: User | None, now: datetime | None = None) -> bool:
    """Accepted: confirmed by the customer, in live use, or the window ended. Safe to run twice."""
    locked = _locked(order)
    if locked.status != DfyOrder.Status.DELIVERED:
        return False
    locked.status = DfyOrder.Status.ACCEPTED
    locked.accepted_at = now or timezone.now()
    locked.accepted_how = how
    locked.save()
    audit.record(actor=actor, action="support.dfy.accepted", target=locked, details={"how": how})
    _email(locked, "support-dfy-accepted", how=ACCEPTED_HOW.get(how, how), automatic=how == "window-ended")
    return True


def dfy_orders_auto_accept(*, now: datetime | None = None) -> int:
    """Daily: accept every delivered build whose acceptance window has ended. Safe to run twice."""
    now = now or timezone.now()
    # A list first: each acceptance queues an email, and the queue runs inline in tests.
    due = list(DfyOrder.objects.filter(status=DfyOrder.Status.DELIVERED, acceptance_ends_on__lt=_today(now)))
    return sum(dfy_order_accept(order=order, how="window-ended", actor=None, now=now) for order in due)


@transaction.atomic
def dfy_order_late_notify(*, order: DfyOrder, now: datetime | None = None) -> bool:
    """The build is past its due date and not delivered: apologise once per
    due date (an extension gives a new one), with the clause 2.5 right to
    cancel for a full refund. Audited. Returns whether it was queued."""
    locked = _locked(order)
    if locked.status not in DfyOrder.IN_PROGRESS or locked.due_date is None or locked.delivered_at is not None:
        return False
    if locked.due_date >= _today(now or timezone.now()):
        return False
    queued = _email(locked, "support-dfy-late", stage=str(locked.due_date), due_date=_day(locked.due_date))
    if queued:
        audit.record(actor=None, action="support.dfy.late", target=locked, details={"due_date": str(locked.due_date)})
    return queued


def dfy_orders_late_notify(*, now: datetime | None = None) -> int:
    """Daily: the lateness apology for every overdue build, once per order and due date. Safe to run twice."""
    today = _today(now or timezone.now())
    overdue = list(
        DfyOrder.objects.filter(status__in=DfyOrder.IN_PROGRESS, delivered_at__isnull=True, due_date__lt=today)
    )
    return sum(dfy_order_late_notify(order=order, now=now) for order in overdue)
