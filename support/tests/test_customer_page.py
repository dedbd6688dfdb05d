"""Admin → Customers: one page per account with everything staff need, the
search that finds it, and account columns that link there."""

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import DunningCase
from levqor.accounts.models import Account
from levqor.api.models import ApiKey
from levqor.api.testing import issue_key
from support import services
from support.customer import account_search

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(customer_account, customer, other_customer):
    Account.objects.filter(pk=customer_account.pk).update(stripe_customer_id="cus_acme_page")
    now = timezone.now()
    case = DunningCase.objects.create(
        account=customer_account,
        stripe_customer_id="cus_acme_page",
        stripe_subscription_id="sub_acme_page",
        stripe_invoice_id="in_acme_page",
        amount_due=2900,
        currency="gbp",
        opened_at=now,
        last_event_at=now,
    )
    ticket = services.ticket_open(
        account=customer_account, user=customer, subject="Page ticket", body="Help", actor=customer
    )
    dispute = services.dispute_open(
        account=customer_account, user=customer, category="billing", subject="Page dispute", description="d", actor=None
    )
    key = issue_key(customer_account, mode=ApiKey.Mode.LIVE, name="Zapier")
    order = services.dfy_order_create(account=customer_account, tier="pro", actor=None)
    services.ticket_open(
        account=other_customer.account, user=other_customer, subject="Not theirs", body="x", actor=other_customer
    )
    return {"case": case, "ticket": ticket, "dispute": dispute, "key": key, "order": order, "account": customer_account}


@pytest.mark.parametrize(
    "term",
    ["owner@acme.test", "OWNER@ACME.TEST", "acme", "cus_acme_page", "sub_acme_page", "in_acme_page", "key"],
)
def test_it_finds_the_account_by_any_of_its_handles(world, term):
    if term == "key":
        term = world["key"].key.prefix
    assert [a.pk for a in account_search(term)] == [world["account"].pk]


def test_it_finds_nothing_for_an_unknown_or_empty_term(world):
    assert account_search("cus_nobody") == [] and account_search("  ") == []


def test_it_shows_the_whole_customer_on_one_page(staff_client, world):
    search = staff_client.get(reverse("customer_search"), {"q": "sub_acme_page"})
    url = reverse("customer_page", args=[world["account"].pk])
    assert search.status_code == 302 and search["Location"] == url
    page = staff_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    for expected in (
        "Growth",
        "24 h",
        reverse("admin:billing_dunningcase_change", args=[world["case"].pk]),
        reverse("admin:support_ticket_change", args=[world["ticket"].pk]),
        reverse("admin:support_dispute_change", args=[world["dispute"].pk]),
        reverse("admin:support_dfyorder_change", args=[world["order"].pk]),
        world["key"].key.prefix,
        "support.ticket.opened",
    ):
        assert expected in html, expected
    assert "Not theirs" not in html
    assert staff_client.get(reverse("customer_page", args=[999999])).status_code == 404
    assert "No account matches" in staff_client.get(reverse("customer_search"), {"q": "zzz"}).content.decode()


def test_it_links_every_account_column_to_the_customer_page(staff_client, world):
    url = reverse("customer_page", args=[world["account"].pk])
    for changelist, query in (
        ("admin:support_ticket_changelist", {}),
        ("admin:support_dispute_changelist", {}),
        ("admin:support_dfyorder_changelist", {}),
        ("admin:billing_dunningcase_changelist", {"status": "all"}),
        ("admin:api_apikey_changelist", {}),
        ("admin:accounts_account_changelist", {}),
    ):
        html = staff_client.get(reverse(changelist), query).content.decode()
        assert f'href="{url}"' in html, changelist


def test_it_keeps_customers_and_strangers_out(client, customer, world):
    url = reverse("customer_page", args=[world["account"].pk])
    assert client.get(url).status_code == 302  # to the admin login
    client.force_login(customer)
    assert client.get(url).status_code == 302
    assert client.get(reverse("customer_search"), {"q": "acme"}).status_code == 302
