"""Recovery analytics: the figures from known cases, and the staff page."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from billing.analytics import recovery_figures
from billing.models import DunningCase

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def case(account, n, *, status, opened, took=None, stage="", amount=2900, decline="", failure="card_declined"):
    closed = opened + took if took is not None else (opened + timedelta(days=1) if status != "pending" else None)
    return DunningCase.objects.create(
        account=account,
        stripe_customer_id="cus_an",
        stripe_subscription_id=f"sub_an_{n}",
        status=status,
        stage=stage,
        opened_at=opened,
        closed_at=closed,
        last_event_at=opened,
        amount_due=amount,
        currency="gbp",
        decline_code=decline,
        failure_code=failure,
    )


@pytest.fixture
def cases(customer_account):
    a = customer_account
    case(
        a, 1, status="recovered", opened=NOW - timedelta(days=40), took=timedelta(days=2), decline="insufficient_funds"
    )
    case(
        a, 2, status="recovered", opened=NOW - timedelta(days=20), took=timedelta(days=4), decline="insufficient_funds"
    )
    case(a, 3, status="recovered", opened=NOW - timedelta(days=10), took=timedelta(days=9), decline="expired_card")
    case(a, 4, status="canceled", opened=NOW - timedelta(days=30), decline="stolen_card")
    case(a, 5, status="pending", opened=NOW - timedelta(days=8), stage="day7", amount=5900)
    case(a, 6, status="pending", opened=NOW - timedelta(days=1), stage="day0", amount=900)
    case(a, 7, status="pending", opened=NOW - timedelta(days=2), stage="day0", amount=900)
    # Outside the 12 months: counted nowhere but (pending) at risk; this one is closed.
    case(a, 8, status="recovered", opened=NOW - timedelta(days=500), took=timedelta(days=30))


def test_it_computes_rate_median_risk_months_and_codes(cases):
    figures = recovery_figures(now=NOW)
    assert (figures.opened, figures.recovered, figures.canceled, figures.pending) == (7, 3, 1, 3)
    assert figures.recovery_rate == 0.75
    assert figures.median_to_recover == timedelta(days=4)
    assert [(row["stage"], row["cases"], row["amount"]) for row in figures.at_risk] == [
        ("Day 0: payment failed", 2, "£18.00"),
        ("Day 7: second reminder", 1, "£59.00"),
    ]
    months = [(row["month"].month, row["cases"], row["amount"]) for row in figures.by_month]
    assert months == [(5, 2, "£58.00"), (6, 1, "£29.00")]  # by the month each was recovered
    codes = {row["code"]: row["cases"] for row in figures.by_code}
    assert codes == {"insufficient_funds": 2, "expired_card": 1, "stolen_card": 1, "card_declined": 3}


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two(customer_account):
    case(customer_account, 1, status="recovered", opened=NOW - timedelta(days=9), took=timedelta(days=1))
    case(customer_account, 2, status="recovered", opened=NOW - timedelta(days=9), took=timedelta(days=3))
    assert recovery_figures(now=NOW).median_to_recover == timedelta(days=2)


def test_staff_see_tables_and_svg_charts_linked_from_the_index(staff_client, cases):
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:billing_recovery_analytics") in index
    body = staff_client.get(reverse("admin:billing_recovery_analytics"), {"as_of": "2025-06-15"}).content.decode()
    assert body.count('class="chart"') == 3  # recovered per month, at risk by stage, decline codes
    assert "<title>May 2025: £58.00</title>" in body
    assert "insufficient_funds" in body and "Revenue at risk by stage" in body
    assert 'id="fig-rate">75%' in body


def test_customers_cannot_open_it(customer_client, client, db):
    assert customer_client.get(reverse("admin:billing_recovery_analytics")).status_code == 302
