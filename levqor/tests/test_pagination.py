import pytest

from levqor.accounts.models import Account
from levqor.accounts.services import account_create
from levqor.lib.drf.pagination import CountSavingPaginator

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_accounts():
    for n in range(5):
        account_create(name=f"Co {n}", plan="starter", owner_email=f"o{n}@co.test", billing_state="active", actor=None)
    return Account.objects.order_by("pk")


def test_it_reads_a_short_first_page_in_one_query(five_accounts, django_assert_num_queries):
    with django_assert_num_queries(1):
        page = CountSavingPaginator(five_accounts, 10).page(1)
        assert len(page) == 5 and page.paginator.count == 5 and not page.has_next()


def test_it_counts_when_the_first_page_is_full_and_pages_on_as_django_does(five_accounts):
    page = CountSavingPaginator(five_accounts, 2).page(1)
    assert [a.name for a in page] == ["Co 0", "Co 1"]
    assert page.paginator.count == 5 and page.paginator.num_pages == 3 and page.has_next()
    last = CountSavingPaginator(five_accounts, 2).page(3)
    assert [a.name for a in last] == ["Co 4"] and not last.has_next()


def test_an_empty_list_is_an_empty_first_page(django_assert_num_queries, db):
    with django_assert_num_queries(1):
        page = CountSavingPaginator(Account.objects.filter(name="nobody").order_by("pk"), 10).page(1)
        assert list(page) == [] and page.paginator.count == 0
