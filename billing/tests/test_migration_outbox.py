"""The data migration that moved dunning emails onto the outbox: every
claim and log row becomes the outbox row the new code would have made, so
the outbox's sweep sends what had not left and never what had."""

import importlib
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from compliance.models import OutboundEmail
from compliance.outbox import services as outbox

MIGRATION = "0003_dunning_emails_to_outbox"
copy_to_outbox = importlib.import_module(f"billing.migrations.{MIGRATION}").copy_to_outbox


@pytest.fixture
def old(settings):
    """The models as they were before the migration, with the two old tables
    made next to today's (the suite runs without migrations), dropped after."""
    settings.MIGRATION_MODULES = {}  # the real migrations, not pytest-django's --nomigrations stand-ins
    state = MigrationLoader(None, ignore_no_migrations=True).project_state(("billing", MIGRATION), at_end=False)
    models = [state.apps.get_model("billing", name) for name in ("DunningNotice", "EmailLog")]
    with connection.schema_editor() as editor:
        for model in models:
            editor.create_model(model)
    yield state.apps
    with connection.schema_editor() as editor:
        for model in reversed(models):
            editor.delete_model(model)


@pytest.mark.django_db(transaction=True)
def test_claims_and_logs_become_outbox_rows(customer_account, customer, old):
    Case = old.get_model("billing", "DunningCase")
    Notice = old.get_model("billing", "DunningNotice")
    EmailLog = old.get_model("billing", "EmailLog")
    now = timezone.now()
    case = Case.objects.create(
        account_id=customer_account.pk,
        stripe_customer_id="cus_migrated",
        stripe_subscription_id="sub_migrated",
        amount_due=2900,
        currency="gbp",
        stage="day7",
        opened_at=now - timedelta(days=8),
        last_event_at=now - timedelta(days=8),
    )
    sent = Notice.objects.create(case=case, kind="day0", sent_at=now - timedelta(days=8), deliveries=1, resends=1)
    EmailLog.objects.create(case=case, notice=sent, kind="day0", template="dunning-day0", to="a@acme.test", subject="S")
    EmailLog.objects.create(
        case=case, notice=sent, kind="day0", template="dunning-day0", to="b@acme.test", subject="S", resend=True
    )
    Notice.objects.create(
        case=case, kind="day7", deliveries=2, last_error="SMTP down", lease_until=now - timedelta(minutes=1)
    )
    Notice.objects.create(
        case=case, kind="recovered", dropped_at=now, last_error="Not sent: the case is pending, not recovered."
    )

    copy_to_outbox(old, None)
    rows = {e.stage: e for e in OutboundEmail.objects.filter(kind="billing.dunning")}
    assert set(rows) == {"day0", "day7", "recovered"}
    assert {(e.about_type, e.about_id) for e in rows.values()} == {("billing.dunningcase", str(case.pk))}
    day0, day7, recovered = rows["day0"], rows["day7"], rows["recovered"]
    assert (day0.status, day0.to, day0.subject, day0.resends) == ("sent", "a@acme.test", "S", 1)
    assert day0.sent_at == sent.sent_at and day0.template == "dunning-reminder"
    assert day0.tags == ["dunning", "dunning-day0"]
    assert (day7.status, day7.attempts, day7.last_error) == ("queued", 2, "SMTP down")
    assert (recovered.status, recovered.template) == ("dropped", "dunning-recovered")

    # After the deploy the sweep sends the one that had not left, once, and not the others.
    assert outbox.emails_retry_due(now=timezone.now()) == 1
    assert outbox.emails_retry_due(now=timezone.now()) == 0
    assert [m.subject for m in mail.outbox] == ["Second reminder: your Levqor payment of £29.00 is still due"]
    assert mail.outbox[0].to == [customer.email]
