"""billing/demo.py (run by `seed_demo`): a second run creates nothing."""

from io import StringIO

import pytest
from django.apps import apps
from django.core import mail
from django.db import transaction
from django.db.models import Count

from billing import demo
from billing.models import DunningCase, StripeEvent

from .conftest import dunning_emails

pytestmark = pytest.mark.django_db


def world() -> dict:
    """Every billing row, plus the accounts, users and audit entries the demo makes."""
    models = [
        *apps.get_app_config("billing").get_models(),
        apps.get_model("accounts", "Account"),
        apps.get_model("accounts", "User"),
        apps.get_model("compliance", "AuditEvent"),
        apps.get_model("compliance", "OutboundEmail"),
    ]
    counts = {model._meta.label: model.objects.count() for model in models}
    counts["emails sent"] = len(mail.outbox)
    counts["cases by status and stage"] = sorted(
        DunningCase.objects.values_list("status", "stage").annotate(n=Count("pk"))
    )
    counts["events by status"] = sorted(StripeEvent.objects.values_list("status").annotate(n=Count("pk")))
    return counts


def seed(admin, capture):
    """As `seed_demo` runs it: in a transaction, emails after commit."""
    with capture(execute=True), transaction.atomic():
        demo.seed(admin=admin, stdout=StringIO())


def test_it_creates_every_billing_object_once(staff, django_capture_on_commit_callbacks):
    seed(staff, django_capture_on_commit_callbacks)
    first = world()
    seed(staff, django_capture_on_commit_callbacks)
    assert world() == first
    assert first["billing.DunningCase"] == len(demo.DEMO_CASES)
    assert {"failed", "unmatched", "processed"} == {status for status, _ in first["events by status"]}
    assert first["emails sent"] > 0
    assert dunning_emails(status="sent").count() == first["emails sent"]


def test_the_demo_unmatched_event_opens_its_case_when_staff_link_the_customer(
    staff, customer_account, staff_client, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    seed(staff, django_capture_on_commit_callbacks)
    url = reverse("admin:billing_stripeevent_link_customer")
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url, {"customer": "cus_demo_unlinked", "account": customer_account.pk})
    case = DunningCase.objects.get(stripe_subscription_id="sub_demo_unlinked")
    assert case.account == customer_account and case.amount_due == demo.AMOUNTS["pro"]
    assert StripeEvent.objects.get(stripe_id="evt_demo_unlinked_customer").status == "processed"
