"""Done-for-you orders against the /dfy-contract timelines: purchase,
payment, brief and access (which fix the start and due dates), the
customer's delay, delivery, revision rounds, acceptance (confirmed, or
automatic when the ten-business-day window ends). Every change audited."""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from compliance import audit
from levqor.accounts.models import Account, User
from levqor.plans import DFY_TIERS

from ..businessdays import add_business_days, next_business_day
from ..models import DfyOrder

_TIERS = {tier.code: tier for tier in DFY_TIERS}
STEPS = {"paid": "paid_at", "brief": "brief_approved_at", "access": "access_given_at"}


def _today(now: datetime) -> date:
    return timezone.localdate(now)


def _due(order: DfyOrder) -> date:
    # The start date is day 1 of the timeline.
    return add_business_days(order.start_date, order.business_days_max - 1 + order.extension_days)


def _locked(order: DfyOrder) -> DfyOrder:
    return DfyOrder.objects.select_for_update().get(pk=order.pk)


@transaction.atomic
def dfy_order_create(*, account: Account, tier: str, actor: User | None) -> DfyOrder:
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
    )
    audit.record(actor=actor, action="support.dfy.created", target=order, details={"tier": tier, "price": facts.price})
    return order


@transaction.atomic
def dfy_order_step(*, order: DfyOrder, step: str, actor: User | None, now: datetime | None = None) -> bool:
    """Record payment, the approved brief or the access given (each once).
    When all three are in, the start date is the next business day and the
    due date follows. Returns whether anything changed."""
    if step not in STEPS:
        raise ValidationError({"step": [f"Choose one of: {', '.join(STEPS)}."]})
    now = now or timezone.now()
    locked = _locked(order)
    if getattr(locked, STEPS[step]) is not None:
        return False
    setattr(locked, STEPS[step], now)
    details: dict = {"step": step}
    if step == "paid" and locked.status == DfyOrder.Status.AWAITING_PAYMENT:
        locked.status = DfyOrder.Status.AWAITING_BRIEF
    if all(getattr(locked, field) for field in STEPS.values()) and locked.start_date is None:
        locked.start_date = next_business_day(_today(now))
        locked.due_date = _due(locked)
        locked.status = DfyOrder.Status.BUILDING
        details.update(start_date=str(locked.start_date), due_date=str(locked.due_date))
    locked.save()
    audit.record(actor=actor, action="support.dfy.step", target=locked, details=details)
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
    return True


def dfy_orders_auto_accept(*, now: datetime | None = None) -> int:
    """Daily: accept every delivered build whose acceptance window has ended. Safe to run twice."""
    now = now or timezone.now()
    due = DfyOrder.objects.filter(status=DfyOrder.Status.DELIVERED, acceptance_ends_on__lt=_today(now))
    return sum(dfy_order_accept(order=order, how="window-ended", actor=None, now=now) for order in due)
