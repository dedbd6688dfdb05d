"""Customer pages and the banner, staff admin: through the real request cycle."""

import re
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import cases
from billing.models import DunningCase, StripeEvent
from levqor.accounts.models import Account
from levqor.accounts.services import account_set_billing_state
from levqor.lib import attention

from .conftest import current_invoice

pytestmark = pytest.mark.django_db

PAUSED = "Your account is paused due to failed payments. Please update billing."


@pytest.fixture
def case(customer_account):
    customer_account.stripe_customer_id = "cus_pages"
    customer_account.save(update_fields=["stripe_customer_id"])
    invoice = current_invoice(invoice_id="in_pages", customer="cus_pages", subscription="sub_pages")
    return cases.case_record_failure(invoice=invoice, event_id=f"evt_{time.time()}", event_at=timezone.now())


def test_it_shows_the_paused_banner_on_every_signed_in_page(customer_client, customer_account, case):
    account_set_billing_state(account=customer_account, state="paused_billing", reason="test", actor=None)
    for url in (reverse("accounts:home"), reverse("billing:overview"), reverse("pages:pricing")):
        response = customer_client.get(url)
        assert response.status_code == 200
        assert PAUSED in response.content.decode()
        assert reverse("billing:overview") in response.content.decode()


def test_it_shows_no_banner_when_not_paused(customer_client, case):
    assert PAUSED not in customer_client.get(reverse("accounts:home")).content.decode()


def test_the_billing_page_shows_the_open_case_and_pay_link(customer_client, case):
    body = customer_client.get(reverse("billing:overview")).content.decode()
    assert "£29.00" in body
    assert case.hosted_invoice_url in body
    assert "Just opened" in body


def test_another_customer_does_not_see_the_case(client, other_customer, case):
    client.force_login(other_customer)
    body = client.get(reverse("billing:overview")).content.decode()
    assert case.hosted_invoice_url not in body
    assert "up to date" in body


def test_the_billing_page_needs_a_login(client):
    assert client.get(reverse("billing:overview")).status_code == 302


def make_case(account, name, *, status="pending", stage="", age_days=0.0, due_in_days=None) -> DunningCase:
    """A case straight in the table: its status, stage, age and due time as given."""
    now = timezone.now()
    opened = now - timedelta(days=age_days)
    return DunningCase.objects.create(
        account=account,
        stripe_customer_id=f"cus_{name}",
        stripe_subscription_id=f"sub_{name}",
        stripe_invoice_id=f"in_{name}",
        status=status,
        stage=stage,
        amount_due=2900,
        currency="gbp",
        opened_at=opened,
        last_event_at=opened,
        next_action_at=None if due_in_days is None else now + timedelta(days=due_in_days),
        closed_at=None if status == "pending" else now,
    )


@pytest.fixture
def queue(customer_account, other_customer):
    """Cases that differ in status, stage, age, plan and due time."""
    starter = Account.objects.get(name="Other Co")
    assert customer_account.plan == "growth" and starter.plan == "starter"
    return {
        # pending, growth, 1 day old, due an hour ago
        "fresh": make_case(customer_account, "fresh", stage="day0", age_days=1, due_in_days=-1 / 24),
        # pending, starter, 10 days old, next stage in 4 days
        "middle": make_case(starter, "middle", stage="day7", age_days=10, due_in_days=4),
        # pending, growth, 20 days old, at the last stage
        "old": make_case(customer_account, "old", stage="day14", age_days=20),
        # recovered, growth, 3 days old, a stale due time in the past
        "recovered": make_case(
            customer_account, "recovered", status="recovered", stage="day0", age_days=3, due_in_days=-1
        ),
        # canceled, starter, 15 days old
        "canceled": make_case(starter, "canceled", status="canceled", stage="day14", age_days=15),
    }


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", {"fresh", "middle", "old"}),  # default: pending, the cases that need attention
        ("?status=pending", {"fresh", "middle", "old"}),
        ("?status=all", {"fresh", "middle", "old", "recovered", "canceled"}),
        ("?status=recovered", {"recovered"}),
        ("?status=canceled", {"canceled"}),
        ("?stage=day0", {"fresh"}),
        ("?stage=day7", {"middle"}),
        ("?stage=day14", {"old"}),
        ("?stage=day0&status=all", {"fresh", "recovered"}),
        ("?stage=day14&status=all", {"old", "canceled"}),
        ("?age=lt7", {"fresh"}),
        ("?age=7to14", {"middle"}),
        ("?age=gte14", {"old"}),
        ("?age=lt7&status=all", {"fresh", "recovered"}),
        ("?age=gte14&status=all", {"old", "canceled"}),
        ("?plan=growth", {"fresh", "old"}),
        ("?plan=starter", {"middle"}),
        ("?plan=starter&status=all", {"middle", "canceled"}),
        ("?due=today", {"fresh"}),
        ("?due=today&status=all", {"fresh", "recovered"}),
        ("?status=pending&due=today", {"fresh"}),  # the admin index's link
        ("?plan=growth&age=gte14", {"old"}),
        ("?q=Acme", {"fresh", "old"}),
        ("?q=Other", {"middle"}),
    ],
)
def test_the_dunning_queue_lists_what_each_filter_selects(staff_client, queue, query, expected):
    response = staff_client.get(reverse("admin:billing_dunningcase_changelist") + query)
    assert response.status_code == 200, query
    names = {case.pk: name for name, case in queue.items()}
    listed = {names[case.pk] for case in response.context["cl"].result_list}
    assert listed == expected, query


def test_the_dunning_queue_reads_the_same_few_queries_for_3_cases_or_60(staff_client, queue, customer_account):
    """No list column queries per row: the page's queries do not grow with its rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:billing_dunningcase_changelist") + "?status=all"
    staff_client.get(url)
    with CaptureQueriesContext(connection) as few:
        small = staff_client.get(url).content.decode()
    for n in range(55):
        make_case(customer_account, f"many{n}", stage="day0", age_days=n / 10, due_in_days=n)
    with CaptureQueriesContext(connection) as many:
        large = staff_client.get(url).content.decode()
    assert len(many.captured_queries) == len(few.captured_queries)
    assert small.count('class="action-select"') == 5 and large.count('class="action-select"') == 60
    # Each row's checkbox is the one Django's widget renders (selecting rows for an action works as before).
    case = queue["fresh"]
    assert (
        f'<input type="checkbox" name="_selected_action" value="{case.pk}" class="action-select" '
        f'aria-label="Select this object for an action - Case #{case.pk} sub_fresh (pending)">'
    ) in large


def test_admin_case_pages_render(staff_client, case):
    changelist = reverse("admin:billing_dunningcase_changelist")
    assert "Acme Ltd" in staff_client.get(changelist).content.decode()
    assert "Acme Ltd" not in staff_client.get(changelist + "?status=recovered").content.decode()
    page = staff_client.get(reverse("admin:billing_dunningcase_change", args=[case.pk]))
    assert page.status_code == 200
    assert "dunning.case_opened" in page.content.decode()


def test_admin_actions_call_the_services(staff_client, case, customer_account, django_capture_on_commit_callbacks):
    url = reverse("admin:billing_dunningcase_changelist")
    pause = {"action": "action_pause", "_selected_action": [case.pk]}
    confirm = staff_client.post(url, pause).content.decode()
    assert "becomes read-only" in confirm and not Account.objects.get(pk=customer_account.pk).is_paused
    response = staff_client.post(url, {**pause, "apply": "1"}, follow=True)
    assert "Pause the accounts: 1 done." in response.content.decode()
    customer_account.refresh_from_db()
    assert customer_account.is_paused
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url, {"action": "action_mark_recovered", "_selected_action": [case.pk]})
    case.refresh_from_db()
    customer_account.refresh_from_db()
    assert case.status == DunningCase.Status.RECOVERED and not customer_account.is_paused


def test_admin_event_pages_render_and_reprocess(staff_client, case):
    event = StripeEvent.objects.create(
        stripe_id="evt_admin", type="invoice.created", stripe_created=timezone.now(), payload={}, status="processed"
    )
    url = reverse("admin:billing_stripeevent_changelist")
    assert staff_client.get(url).status_code == 200
    assert staff_client.get(url + "?status=failed").status_code == 200
    assert staff_client.get(reverse("admin:billing_stripeevent_change", args=[event.pk])).status_code == 200
    response = staff_client.post(url, {"action": "action_reprocess", "_selected_action": [event.pk]}, follow=True)
    assert "1 skipped" in response.content.decode()
    many = [
        StripeEvent.objects.create(
            stripe_id=f"evt_many_{n}", type="x", stripe_created=timezone.now(), payload={}, status="processed"
        ).pk
        for n in range(11)
    ]
    response = staff_client.post(url, {"action": "action_reprocess", "_selected_action": many}, follow=True)
    assert "11 event(s) queued" in response.content.decode()


def test_the_admin_index_counts_cases_due_today(staff_client, customer_account):
    make_case(customer_account, "due", stage="day0", age_days=7, due_in_days=-1 / 24)
    make_case(customer_account, "later", stage="day0", age_days=1, due_in_days=2)  # not due today
    make_case(customer_account, "closed", status="recovered", stage="day0", age_days=3, due_in_days=-1)
    counts = {queue.label: queue for queue in attention.queue_counts()}
    assert counts["Dunning cases due today"].count == 1
    body = staff_client.get(reverse("admin:index")).content.decode()
    link = reverse("admin:billing_dunningcase_changelist") + "?status=pending&amp;due=today"
    row = re.search(
        r'<a href="([^"]*)">Dunning cases due today</a></th>\s*<td class="count"><strong>(\d+)</strong>', body
    )
    assert row is not None, body
    assert row.groups() == (link, "1")


def test_seed_demo_creates_cases_at_every_stage_and_is_idempotent(db, monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("LEVQOR_ADMIN_PASSWORD", "a-strong-password-42")
    call_command("seed_demo", verbosity=0)
    first = sorted(DunningCase.objects.values_list("status", "stage"))
    call_command("seed_demo", verbosity=0)
    assert sorted(DunningCase.objects.values_list("status", "stage")) == first
    stages = {stage for status, stage in first if status == "pending"}
    assert {"day0", "day7", "day14"} <= stages  # "Dunning New" gets its day-0 email on commit
    assert {"recovered", "canceled"} <= {status for status, _ in first}
