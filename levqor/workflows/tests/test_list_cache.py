"""GET /api/workflows from the shared copy (Redis): every change to the
account's workflows shows on the next call, and a copy built from rows read
before a change is never served after it."""

import os

import pytest

from levqor.workflows import listcache, services
from levqor.workflows.models import Workflow

from .conftest import make_workflow

pytestmark = [
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="list pages are cached only in a shared Redis"),
    pytest.mark.django_db,
]


def _names(api) -> list[str]:
    return [row["name"] for row in api.get("/api/workflows").json()["results"]]


def test_every_change_shows_on_the_next_call(api, customer_account):
    first = make_workflow(customer_account, sandbox=True, name="First")
    assert _names(api) == ["First"]
    assert _names(api) == ["First"]  # now served from the copy
    make_workflow(customer_account, sandbox=True, name="Second")
    assert _names(api) == ["Second", "First"]
    first.name = "Renamed in admin"
    first.save()  # a plain save (admin, shell): the signal outdates the copy
    assert _names(api) == ["Second", "Renamed in admin"]
    assert api.delete(f"/api/workflows/{first.pk}").status_code == 204
    assert _names(api) == ["Second"]


def test_a_copy_of_rows_read_before_a_change_is_not_served(api, customer_account):
    make_workflow(customer_account, sandbox=True, name="Before")
    url = "http://testserver/api/workflows"
    _data, stamp = listcache.page_get(account_id=customer_account.pk, sandbox=True, url=url)  # a slow reader
    stale = api.get("/api/workflows").content  # ... reads the rows
    services.workflow_update(workflow=Workflow.objects.get(name="Before"), changes={"name": "After"}, actor=None)
    listcache.page_put(account_id=customer_account.pk, sandbox=True, url=url, stamp=stamp, body=stale)  # ... late
    assert _names(api) == ["After"]


def test_other_accounts_and_modes_never_share_a_copy(api, live_api, other_api, customer_account):
    make_workflow(customer_account, sandbox=True, name="Sandbox one")
    make_workflow(customer_account, sandbox=False, name="Live one")
    assert _names(api) == ["Sandbox one"]
    assert _names(live_api) == ["Live one"]
    assert _names(other_api) == []
