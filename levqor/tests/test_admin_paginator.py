import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext

from levqor.accounts.models import Account
from levqor.accounts.services import account_create
from levqor.lib.admin import EstimatedCountPaginator, QuickRowsMixin, distinct_values

pytestmark = pytest.mark.django_db


class SmallThreshold(EstimatedCountPaginator):
    estimate_above = 3


@pytest.fixture
def accounts():
    for n in range(6):
        account_create(name=f"Co {n}", plan="starter", owner_email=f"o{n}@co.test", billing_state="active", actor=None)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE accounts_account")
    return Account.objects.order_by("pk")


def _count(paginator) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        count = paginator.count
    return count, [q["sql"] for q in queries.captured_queries]


@pytest.mark.postgres
def test_it_shows_the_planners_estimate_for_a_whole_big_table_without_counting(accounts):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the estimate is pg_class.reltuples")
    count, sql = _count(SmallThreshold(accounts, 2))
    assert count == 6 and not any("COUNT(" in s.upper() for s in sql)


@pytest.mark.postgres
def test_a_table_estimated_at_the_threshold_is_not_counted(accounts):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the estimate is pg_class.reltuples")

    class AtSix(EstimatedCountPaginator):
        estimate_above = 6

    count, sql = _count(AtSix(accounts, 2))
    assert count == 6 and not any("COUNT(" in s.upper() for s in sql)


def test_the_quick_action_checkbox_is_the_html_django_renders(accounts):
    class Quick(QuickRowsMixin, admin.ModelAdmin):
        pass

    for account in accounts:
        assert Quick(Account, admin.site).action_checkbox(account) == admin.ModelAdmin(
            Account, admin.site
        ).action_checkbox(account)
    tricky = Account(pk=999, name='<b>"Quotes" & co</b>')
    assert Quick(Account, admin.site).action_checkbox(tricky) == admin.ModelAdmin(Account, admin.site).action_checkbox(
        tricky
    )


def test_it_counts_a_filtered_list_or_a_small_table_exactly(accounts):
    count, sql = _count(SmallThreshold(accounts.filter(name__in=["Co 1", "Co 2"]), 2))
    assert count == 2 and any("COUNT(" in s.upper() for s in sql)
    count, sql = _count(EstimatedCountPaginator(accounts, 2))  # 6 rows: under the default threshold
    assert count == 6 and any("COUNT(" in s.upper() for s in sql)


def test_it_lists_each_distinct_value_of_an_indexed_column_once(accounts):
    Account.objects.filter(name__in=["Co 4", "Co 5"]).update(plan="pro")
    assert distinct_values(Account.objects.all(), "plan") == ["pro", "starter"]


def test_the_audit_trail_filters_by_action_and_date_without_reading_every_row(staff_client, accounts):
    page = staff_client.get("/admin/compliance/auditevent/")
    assert page.status_code == 200
    assert "?action__exact=account.created" in page.content.decode()
    filtered = staff_client.get("/admin/compliance/auditevent/", {"action__exact": "account.created"})
    assert filtered.status_code == 200 and filtered.context["cl"].result_count == 6
    assert "Past 7 days" in page.content.decode()
