"""The right to object through the API, with the API keys of the core's api app."""

import pytest

from compliance import objections
from levqor.api.services import api_key_create
from levqor.api.testing import ApiCaller

pytestmark = pytest.mark.django_db


def test_the_api_works_with_an_api_key_for_the_person_who_created_it(client, customer, other_customer):
    issued = api_key_create(account=customer.account, name="CRM sync", actor=customer)
    api = ApiCaller(client, issued.secret)
    response = api.post("/api/gdpr/opt-out", {"profiling": True})
    assert response.status_code == 200 and response.json()["profiling"] is True
    assert objections.objected(customer, "profiling")
    assert not objections.objected(other_customer, "profiling")

    ownerless = api_key_create(account=customer.account, name="Ownerless", actor=None)
    assert ApiCaller(client, ownerless.secret).get("/api/gdpr/opt-out").status_code == 403
    assert ApiCaller(client, "lvq_live_not-a-real-key").get("/api/gdpr/opt-out").status_code == 401


def test_a_key_staff_made_for_a_customer_never_acts_for_the_staff_member(client, customer, staff):
    issued = api_key_create(account=customer.account, name="Made by support", actor=staff)
    api = ApiCaller(client, issued.secret)

    assert api.post("/api/gdpr/opt-out", {"profiling": True}).status_code == 403
    assert api.get("/api/legal/acceptance").status_code == 403
    assert not objections.objected(staff, "profiling")
    assert not objections.objected(customer, "profiling")
