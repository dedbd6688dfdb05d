"""Two `run_dunning` processes at once over 1,000 due cases (PostgreSQL):
every email exactly once, counted through the persistent email log."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from billing.models import DunningCase
from compliance import audit
from compliance.models import AuditEvent

from .conftest import dunning_emails

CASES = 1000


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_sends_every_email_once_with_two_workers_racing(customer_account):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    opened = timezone.now() - timedelta(days=1)
    DunningCase.objects.bulk_create(
        DunningCase(
            account=customer_account,
            stripe_customer_id="cus_race",
            stripe_subscription_id=f"sub_race_{n}",
            stripe_invoice_id=f"in_race_{n}",
            amount_due=2900,
            currency="gbp",
            opened_at=opened,
            last_event_at=opened,
            next_action_at=opened,
            hosted_invoice_url=f"https://invoice.stripe.com/i/race/{n}",
        )
        for n in range(CASES)
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "levqor.settings_test", "DATABASE_URL": _database_url()}
    manage = Path(settings.BASE_DIR) / "manage.py"
    workers = [
        subprocess.Popen(
            [sys.executable, str(manage), "run_dunning", "--batch-size", "50"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=170) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs

    # One email per case (the outbox's unique (kind, case, stage)), each sent once.
    assert dunning_emails().count() == dunning_emails(status="sent", attempts=1, resends=0).count() == CASES
    assert DunningCase.objects.filter(stage="day0").count() == CASES
    assert AuditEvent.objects.filter(action="email.sent").count() == CASES
    audited = [
        case for row in AuditEvent.objects.filter(action="dunning.stages_advanced") for case in row.details["cases"]
    ]
    assert len(audited) == len(set(audited)) == CASES
    # Each case has its one day-0 email, to the account's owner.
    assert not dunning_emails().exclude(to="owner@acme.test").exists()
    per_case = dunning_emails(stage="day0").values("about_id").annotate(n=Count("id"))
    assert per_case.count() == CASES and {row["n"] for row in per_case} == {1}
    assert set(dunning_emails().values_list("about_id", flat=True)) == {
        str(pk) for pk in DunningCase.objects.values_list("pk", flat=True)
    }
    # Small batches, so the two workers interleave: each advanced some of the
    # cases (neither ran alone), and together every case exactly once.
    advanced = []
    for out, _ in outputs:
        report = re.fullmatch(r"(\d+) cases due; advanced (?:day0: (\d+)|none)\.", out.decode().strip())
        assert report is not None, outputs
        advanced.append(int(report[2] or 0))
    assert all(count > 0 for count in advanced), outputs
    assert sum(advanced) == CASES, outputs
    assert audit.verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_applying_the_same_unmatched_events_open_each_case_once(customer_account):
    """Staff link a customer while the retry schedule also picks its events
    up: two `reprocess_stripe_events --unmatched` at once, each event once."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    from billing.models import StripeEvent

    from .conftest import current_invoice

    at = timezone.now() - timedelta(minutes=5)
    StripeEvent.objects.bulk_create(
        StripeEvent(
            stripe_id=f"evt_unmatched_{n}",
            type="invoice.payment_failed",
            stripe_created=at,
            customer_id="cus_late_link",
            subscription_id=f"sub_late_{n}",
            object_id=f"in_late_{n}",
            payload={
                "id": f"evt_unmatched_{n}",
                "object": "event",
                "type": "invoice.payment_failed",
                "created": int(at.timestamp()),
                "data": {
                    "object": current_invoice(
                        invoice_id=f"in_late_{n}", customer="cus_late_link", subscription=f"sub_late_{n}"
                    )
                },
            },
            status="unmatched",
        )
        for n in range(40)
    )
    type(customer_account).objects.filter(pk=customer_account.pk).update(stripe_customer_id="cus_late_link")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "levqor.settings_test", "DATABASE_URL": _database_url()}
    manage = Path(settings.BASE_DIR) / "manage.py"
    workers = [
        subprocess.Popen(
            [sys.executable, str(manage), "reprocess_stripe_events", "--unmatched"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=170) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs

    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert DunningCase.objects.count() == 40
    assert AuditEvent.objects.filter(action="dunning.case_opened").count() == 40
    per_case = dunning_emails(stage="day0").values("about_id").annotate(n=Count("id"))
    assert per_case.count() == 40 and {row["n"] for row in per_case} == {1}
    assert audit.verify().ok
