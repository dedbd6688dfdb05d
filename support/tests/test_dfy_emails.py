"""DFY milestone emails through the outbox: received (awaiting the brief),
started (with the due date), extended, delivered (with the acceptance
window's last day), revision acknowledged, accepted (also automatically) and
the lateness apology. Each once per order and stage, however often the
service or the daily sweep runs."""

from datetime import UTC, date, datetime

import pytest
from django.core import mail

from compliance.models import OutboundEmail
from support import selectors, services
from support.models import DfyOrder

pytestmark = pytest.mark.django_db


def at(*args) -> datetime:
    return datetime(*args, 12, 0, tzinfo=UTC)


def sent(template: str) -> list:
    return [m for m in mail.outbox if template in m.tags]


def kinds(order) -> list[tuple[str, str]]:
    rows = OutboundEmail.objects.filter(about_type="support.dfyorder", about_id=str(order.pk))
    return sorted(rows.values_list("kind", "stage"))


def test_each_milestone_is_emailed_once(customer, customer_account, staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = services.dfy_order_create(account=customer_account, tier="starter", actor=staff)
        for _ in range(2):  # the same payment recorded twice (a redelivered event, a second click)
            services.dfy_order_step(order=order, step="paid", actor=staff, now=at(2027, 12, 20))
        services.dfy_order_step(order=order, step="brief", actor=staff, now=at(2027, 12, 21))
        services.dfy_order_step(order=order, step="access", actor=staff, now=at(2027, 12, 22))

    (received,) = sent("support-dfy-received")
    assert received.to == [customer.email] and f"#{order.pk}" in received.subject
    assert "£149" in received.body and "14-day money-back" in received.body
    (started,) = sent("support-dfy-started")
    # Start: Thursday 23 December 2027 (day 1); then 24, and past Christmas and Boxing Day (both moved
    # to the 27th and 28th) and New Year's Day (observed Monday 3 January): the 7th business day is 5 January.
    assert "Thursday 23 December 2027" in started.body and "Wednesday 5 January 2028" in started.body
    assert "Wednesday 5 January 2028" in started.subject

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            assert services.dfy_orders_late_notify(now=at(2028, 1, 5)) == 0  # due today: not late yet
        assert services.dfy_orders_late_notify(now=at(2028, 1, 6)) == 1
        assert services.dfy_orders_late_notify(now=at(2028, 1, 7)) == 0  # once per due date
    (late,) = sent("support-dfy-late")
    assert "was due by Wednesday 5 January 2028" in late.body and "full refund (clause 2.5)" in late.body

    with django_capture_on_commit_callbacks(execute=True):
        services.dfy_order_extend(order=order, days=2, reason="Access took four business days", actor=staff)
        services.dfy_order_deliver(order=order, actor=staff, now=at(2028, 1, 10))
        services.dfy_order_revision(order=order, workflow=1, actor=None)
        services.dfy_order_deliver(order=order, actor=staff, now=at(2028, 1, 12))
        for _ in range(2):
            services.dfy_orders_auto_accept(now=at(2028, 1, 27))
    (extended,) = sent("support-dfy-extended")
    assert "Friday 7 January 2028" in extended.body and "Access took four business days" in extended.body
    first, second = sent("support-dfy-delivered")
    assert "Monday 24 January 2028" in first.body and "revised version" not in first.body
    assert "Wednesday 26 January 2028" in second.body and "revised version" in second.body
    (revision,) = sent("support-dfy-revision")
    assert "revision round 1 of the 2" in revision.body
    (accepted,) = sent("support-dfy-accepted")
    assert "acceptance window ended without a defect report" in accepted.body

    assert kinds(order) == [
        ("support.dfy-accepted", ""),
        ("support.dfy-delivered", "delivery-1"),
        ("support.dfy-delivered", "delivery-2"),
        ("support.dfy-extended", "2028-01-07"),
        ("support.dfy-late", "2028-01-05"),
        ("support.dfy-received", ""),
        ("support.dfy-revision", "1:1"),
        ("support.dfy-started", ""),
    ]
    assert len(mail.outbox) == 8
    for message in mail.outbox:  # the branded layout, and a link to the order
        html = message.alternatives[0][0]
        assert f"/dfy/orders/{order.pk}" in message.body and "<html" in html.lower()


def test_a_delivered_build_is_never_late(customer_account, staff):
    order = services.dfy_order_create(account=customer_account, tier="starter", actor=staff)
    for step in ("paid", "brief", "access"):
        services.dfy_order_step(order=order, step=step, actor=staff, now=at(2026, 6, 1))
    services.dfy_order_deliver(order=order, actor=staff, now=at(2026, 6, 5))
    services.dfy_order_revision(order=order, workflow=1, actor=None)  # back to "revision" after delivery
    assert services.dfy_orders_late_notify(now=at(2026, 7, 1)) == 0
    assert not selectors.dfy_orders_overdue(date(2026, 7, 1)).exists()
    assert DfyOrder.objects.get(pk=order.pk).status == "revision"
    assert not OutboundEmail.objects.filter(kind="support.dfy-late").exists()
