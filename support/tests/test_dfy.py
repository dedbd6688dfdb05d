"""DFY orders against the /dfy-contract: business days without England's
bank holidays, the start and due dates, delay, revisions, acceptance."""

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from compliance.models import AuditEvent
from levqor.lib import attention
from levqor.plans import DFY_TIERS
from support import selectors, services
from support.businessdays import add_business_days, business_days_between, is_business_day, next_business_day
from support.models import DfyOrder

pytestmark = pytest.mark.django_db


def at(*args) -> datetime:
    return datetime(*args, 12, 0, tzinfo=UTC)


def test_it_skips_weekends_and_english_bank_holidays():
    assert not is_business_day(date(2026, 4, 3))  # Good Friday
    assert not is_business_day(date(2026, 4, 6))  # Easter Monday
    assert not is_business_day(date(2026, 12, 28))  # Boxing Day (substitute day)
    assert is_business_day(date(2026, 3, 17))  # St Patrick's Day: a holiday in Northern Ireland, not England
    assert next_business_day(date(2026, 4, 2)) == date(2026, 4, 7)  # Thursday before Easter → Tuesday after
    assert add_business_days(date(2026, 12, 23), 2) == date(2026, 12, 29)  # 24th, then past 25/26/27/28
    assert add_business_days(date(2026, 5, 1), 0) == date(2026, 5, 1)
    assert business_days_between(date(2026, 4, 2), date(2026, 4, 7)) == 1
    assert business_days_between(date(2026, 4, 7), date(2026, 4, 2)) == -1


@pytest.mark.parametrize("tier", DFY_TIERS, ids=lambda t: t.code)
def test_it_prices_and_times_each_order_from_the_catalogue(tier, customer_account):
    order = services.dfy_order_create(account=customer_account, tier=tier.code, actor=None)
    assert (order.price, order.workflows, order.business_days_max) == (
        tier.price,
        tier.workflows,
        tier.business_days_max,
    )
    assert order.revisions_used == {str(n): 0 for n in range(1, tier.workflows + 1)}
    for step, when in (("paid", at(2026, 3, 30)), ("brief", at(2026, 3, 31)), ("access", at(2026, 4, 2))):
        services.dfy_order_step(order=order, step=step, actor=None, now=when)
    order.refresh_from_db()
    assert order.status == "building" and order.start_date == date(2026, 4, 7)  # after Easter
    assert order.due_date == add_business_days(date(2026, 4, 7), tier.business_days_max - 1)


def test_it_starts_only_when_payment_brief_and_access_are_all_in(customer_account, staff):
    order = services.dfy_order_create(account=customer_account, tier="starter", actor=staff)
    services.dfy_order_step(order=order, step="paid", actor=staff, now=at(2026, 6, 1))
    services.dfy_order_step(order=order, step="access", actor=staff, now=at(2026, 6, 1))
    order.refresh_from_db()
    assert order.status == "awaiting-brief" and order.start_date is None and order.due_date is None
    assert services.dfy_order_step(order=order, step="paid", actor=staff) is False  # once
    services.dfy_order_step(order=order, step="brief", actor=staff, now=at(2026, 6, 5))  # a Friday
    order.refresh_from_db()
    assert order.start_date == date(2026, 6, 8) and order.due_date == date(2026, 6, 16)  # 7 business days
    services.dfy_order_extend(order=order, days=3, reason="Brief answers took 5 days", actor=staff)
    order.refresh_from_db()
    assert order.due_date == date(2026, 6, 19) and order.extension_days == 3
    with pytest.raises(ValidationError):
        services.dfy_order_extend(order=order, days=2, reason="", actor=staff)
    assert AuditEvent.objects.filter(target_type="support.dfyorder", target_id=str(order.pk)).count() == 5


def test_it_counts_revision_rounds_and_auto_accepts_after_ten_business_days(customer_account, staff):
    order = services.dfy_order_create(account=customer_account, tier="pro", actor=staff)
    for step in ("paid", "brief", "access"):
        services.dfy_order_step(order=order, step=step, actor=staff, now=at(2026, 12, 1))
    services.dfy_order_deliver(order=order, actor=staff, now=at(2026, 12, 14))
    order.refresh_from_db()
    assert order.acceptance_ends_on == date(2026, 12, 30)  # ten business days over Christmas
    for _ in range(2):
        services.dfy_order_revision(order=order, workflow=2, actor=None)
        services.dfy_order_deliver(order=order, actor=staff, now=at(2026, 12, 14))
    with pytest.raises(ValidationError, match="change request"):
        services.dfy_order_revision(order=order, workflow=2, actor=None)
    with pytest.raises(ValidationError):
        services.dfy_order_revision(order=order, workflow=4, actor=None)
    assert services.dfy_orders_auto_accept(now=at(2026, 12, 30)) == 0  # the window's last day
    assert services.dfy_orders_auto_accept(now=at(2026, 12, 31)) == 1
    assert services.dfy_orders_auto_accept(now=at(2026, 12, 31)) == 0  # runs twice → one effect
    order.refresh_from_db()
    assert order.status == "accepted" and order.accepted_how == "window-ended"
    assert order.revisions_used == {"1": 0, "2": 2, "3": 0}


def test_it_flags_orders_due_soon_and_overdue(customer_account, staff):
    soon = services.dfy_order_create(account=customer_account, tier="starter", actor=staff)
    late = services.dfy_order_create(account=customer_account, tier="starter", actor=staff)
    DfyOrder.objects.filter(pk=soon.pk).update(status="building", due_date=date(2026, 6, 10))
    DfyOrder.objects.filter(pk=late.pk).update(status="building", due_date=date(2026, 6, 5))
    today = date(2026, 6, 8)
    assert list(selectors.dfy_orders_due_soon(today)) == [soon]
    assert list(selectors.dfy_orders_overdue(today)) == [late]
    labels = {q.label for q in attention.queue_counts()}
    assert "DFY orders due within 3 business days" in labels
    assert "DFY orders overdue (customer may cancel for a full refund)" in labels


def test_it_shows_the_order_to_its_customer_only(client, customer, other_customer, customer_account, staff):
    order = services.dfy_order_create(account=customer_account, tier="pro", actor=None)
    for step in ("paid", "brief", "access"):
        services.dfy_order_step(order=order, step=step, actor=None, now=at(2026, 6, 1))
    client.force_login(customer)
    page = client.get(reverse("support:dfy_order_detail", args=[order.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "0 of 2" in html
    assert "2 June 2026" in html and "Friday 19 June 2026" in html  # starts the 2nd, 14th business day the 19th
    client.force_login(other_customer)
    assert client.get(reverse("support:dfy_order_detail", args=[order.pk])).status_code == 404
    client.force_login(staff)
    assert client.get(reverse("admin:support_dfyorder_changelist"), {"due": "overdue"}).status_code == 200
    admin_page = client.get(reverse("admin:support_dfyorder_change", args=[order.pk])).content.decode()
    assert "support.dfy.step" in admin_page


@pytest.mark.parametrize(
    ("all_in", "start", "due"),
    [
        # An ordinary week: Starter (7 business days) starting Monday is due the Tuesday after.
        (at(2027, 6, 4), date(2027, 6, 7), date(2027, 6, 15)),
        # Over Christmas 2026: Christmas Friday 25th, Boxing Day Saturday (substitute Monday 28th),
        # New Year's Day Friday: day 1 Thursday 24 December, day 7 Wednesday 6 January.
        (at(2026, 12, 23), date(2026, 12, 24), date(2027, 1, 6)),
        # Everything in on Christmas Day 2027 (a Saturday; Christmas and Boxing Day are observed on
        # Monday 27th and Tuesday 28th): the start date is Wednesday 29th; New Year's Day 2028 is
        # observed Monday 3 January.
        (at(2027, 12, 25), date(2027, 12, 29), date(2028, 1, 7)),
    ],
)
def test_the_start_date_is_day_one_of_the_timeline(customer_account, all_in, start, due):
    """Contract 2.3: the timeline "is counted in business days from the start
    date, which is the business day after" payment, the approved brief and the
    access are all in. The start date is the first day of work, so it is day 1:
    the due date is the tier's last business day counting it (not the 7th
    business day after it)."""
    order = services.dfy_order_create(account=customer_account, tier="starter", actor=None)
    for step in ("paid", "brief", "access"):
        services.dfy_order_step(order=order, step=step, actor=None, now=all_in)
    order.refresh_from_db()
    assert (order.start_date, order.due_date) == (start, due)
    assert business_days_between(order.start_date, order.due_date) + 1 == 7  # both ends counted
    assert is_business_day(order.start_date) and is_business_day(order.due_date)


def test_staff_find_a_purchased_order_by_its_checkout_session(staff_client, customer_account):
    order = services.dfy_order_create(
        account=customer_account, tier="starter", actor=None, stripe_checkout_session_id="cs_test_find_me"
    )
    page = staff_client.get(reverse("admin:support_dfyorder_changelist"), {"q": "cs_test_find_me", "status": "all"})
    assert page.status_code == 200 and f"/admin/support/dfyorder/{order.pk}/change/" in page.content.decode()
    detail = staff_client.get(reverse("admin:support_dfyorder_change", args=[order.pk])).content.decode()
    assert "Stripe purchase" in detail and "cs_test_find_me" in detail


def checkout_session(account, *, payment_status: str, tier: str = "pro", amount: int = 29900) -> dict:
    """A payment-mode Checkout Session in the current API's shape (the fields we read)."""
    return {
        "id": "cs_test_a1dfy",
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": payment_status,
        "amount_subtotal": amount,
        "amount_total": amount,
        "currency": "gbp",
        "customer": "cus_dfy_buyer",
        "customer_details": {"email": "owner@acme.test", "name": "Acme", "address": None, "tax_exempt": "none"},
        "payment_intent": "pi_dfy_buyer",
        "metadata": {"levqor_purchase": "dfy", "dfy_tier": tier, "account": str(account.pk), "user": "1"},
        "livemode": False,
        "created": 1_790_000_000,
    }


def test_a_delayed_payment_makes_the_order_first_then_records_the_payment(customer_account):
    """A checkout whose payment clears later: completed (unpaid) → an order
    awaiting payment; async_payment_succeeded → paid, awaiting the brief."""
    from billing import webhooks

    unpaid = checkout_session(customer_account, payment_status="unpaid")
    outcome = webhooks.apply(
        kind="checkout.session.completed", event_id="evt_1", at=at(2026, 6, 1), data={"object": unpaid}
    )
    order = DfyOrder.objects.get()
    assert outcome.note == f"DFY order #{order.pk} (pro) created, awaiting payment"
    assert order.status == "awaiting-payment" and order.paid_at is None
    paid = {**unpaid, "payment_status": "paid"}
    outcome = webhooks.apply(
        kind="checkout.session.async_payment_succeeded", event_id="evt_2", at=at(2026, 6, 2), data={"object": paid}
    )
    order.refresh_from_db()
    assert outcome.note.endswith("already recorded, paid")
    assert order.status == "awaiting-brief" and order.paid_at == at(2026, 6, 2)
    assert DfyOrder.objects.count() == 1


def test_a_checkout_charging_another_amount_is_left_to_staff(customer_account):
    from billing import webhooks

    session = checkout_session(customer_account, payment_status="paid", tier="starter", amount=100)
    outcome = webhooks.apply(
        kind="checkout.session.completed", event_id="evt_3", at=at(2026, 6, 1), data={"object": session}
    )
    assert outcome.note.startswith("needs staff") and "catalogue 14900" in outcome.note
    assert DfyOrder.objects.get().price == 149  # the order keeps the catalogue's price; the payment is noted
    unknown = {**session, "id": "cs_other", "metadata": {**session["metadata"], "account": "999999"}}
    outcome = webhooks.apply(
        kind="checkout.session.completed", event_id="evt_4", at=at(2026, 6, 1), data={"object": unknown}
    )
    assert outcome.note.startswith("needs staff") and DfyOrder.objects.count() == 1
