"""The dunning ladder's one table (`billing.stages`): the choices, the
constraint, the sweep and the email derive from it; the one reminder
template reads exactly as the three per-stage templates it replaced; and a
day-21 stage is one row."""

import hashlib
from datetime import timedelta
from html import unescape as html_unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, models
from django.template import engines
from django.utils import timezone

from billing import dunning, notices, stages
from billing.models import DunningCase, Stage
from compliance.models import OutboundEmail
from levqor.lib import mail as lib_mail

from .conftest import dunning_emails

# What the customer read before one reminder template served every stage:
# the templates/emails/dunning-day0, -day7 and -day14 folders had these
# subjects, one body (byte-identical in the three folders, moved unchanged
# to dunning-reminder: these are its SHA-256) and these sentences.
LEGACY_SUBJECTS = {
    "day0": "Payment failed for your Levqor subscription ({{ amount }})",
    "day7": "Second reminder: your Levqor payment of {{ amount }} is still due",
    "day14": "Your Levqor account is paused: payment of {{ amount }} not received",
}
LEGACY_BODY_SHA256 = {
    "body.txt": "73fa2e761b1470acc4708bc6a5b88a2f9ccca9dc040c36e22c56955efe0e5265",
    # The HTML body has since moved into the shared branded layout
    # (templates/emails/_base.html); its text is otherwise unchanged.
    "body.html": "6091d0b7e6102cb414b24626b563bca16cf71fae3f3041b0977cf2632d38175e",
}
LEGACY_SENTENCES = {
    "day0": "Payment failed, please update your card to avoid interruption.",
    "day7": "Second reminder, service will be paused if payment is not fixed.",
    "day14": "Account paused due to non-payment, contact support to restore.",
}
REMINDER = Path(settings.BASE_DIR) / "templates" / "emails" / "dunning-reminder"

DAY21 = stages.DunningStage(
    code="day21",
    day=21,
    label="Day 21: final notice",
    subject="Final notice: your Levqor payment of {amount} is still due",
    sentence="Final notice, please pay now to keep your data.",
)


def _legacy_render(code: str, context: dict) -> tuple[str, str, str]:
    """What lib_mail.render produced with the old per-stage folder and the old
    sentence (the body is the same file: see the hash test), with today's
    rule that plain text is not HTML-escaped."""
    context = {
        "base_url": settings.LEVQOR_BASE_URL,
        "support_email": settings.LEVQOR_SUPPORT_EMAIL,
        **{key: value for key, value in context.items() if key != "subject"},
        "sentence": LEGACY_SENTENCES[code],
    }
    engine = engines["django"]
    subject = " ".join(html_unescape(engine.from_string(LEGACY_SUBJECTS[code]).render(context)).split())
    text = html_unescape(engine.from_string((REMINDER / "body.txt").read_text()).render(context))
    html = engine.from_string((REMINDER / "body.html").read_text()).render(context)
    return subject, text, html


# The one deliberate change since: the Billing Portal link (issue 14).
PORTAL_LINK = {
    "body.txt": "Update your card, change plan or cancel: {{ manage_url }}\n\n",
    "body.html": 'Update your card, change plan or cancel: <a href="{{ manage_url }}">{{ manage_url }}</a><br>',
}


def test_the_reminder_body_is_the_old_per_stage_body_plus_only_the_portal_link():
    for name, digest in LEGACY_BODY_SHA256.items():
        body = (REMINDER / name).read_text()
        assert body.count(PORTAL_LINK[name]) == 1
        assert hashlib.sha256(body.replace(PORTAL_LINK[name], "").encode()).hexdigest() == digest


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["day0", "day7", "day14"])
@pytest.mark.parametrize(
    "variant",
    [
        {"hard_decline": False, "next_payment_attempt": True, "name": "Ada Lovelace"},
        {"hard_decline": True, "next_payment_attempt": False, "name": ""},
        {"hard_decline": False, "next_payment_attempt": False, "name": "O'Brien & Co"},
    ],
)
def test_it_renders_each_stage_as_the_old_templates_did(code, variant, customer_account, customer):
    customer.name = variant["name"]
    case = DunningCase(
        account=customer_account,
        stripe_customer_id="cus_x",
        stripe_subscription_id="sub_x",
        stage=code,
        amount_due=2900,
        currency="gbp",
        hard_decline=variant["hard_decline"],
        decline_code="stolen_card" if variant["hard_decline"] else "",
        next_payment_attempt=timezone.now() + timedelta(days=3) if variant["next_payment_attempt"] else None,
        hosted_invoice_url="https://invoice.stripe.com/i/x?a=1&b=2",
        last_event_at=timezone.now(),
    )
    context = notices._email_context(case, customer, kind=code)
    template, name = notices.message(code)
    assert (template, name) == ("dunning-reminder", f"dunning-{code}")
    assert lib_mail.render(template, context) == _legacy_render(code, context)


def test_the_stages_enum_and_email_labels_come_from_the_table():
    assert Stage.choices == [(stage.code, stage.label) for stage in stages.STAGES]
    assert [notices.label(code) for code in ("day0", "day7", "day14", "recovered")] == [
        "Day 0 reminder",
        "Day 7 reminder",
        "Day 14: paused",
        "Payment received",
    ]
    constraint = next(c for c in DunningCase._meta.constraints if c.name == "billing_case_stage_known")
    assert constraint.condition == models.Q(stage__in=["", "day0", "day7", "day14"]) == stages.known_codes_q()


def test_the_table_is_in_day_order_and_fits_the_columns():
    days = [stage.day for stage in stages.STAGES]
    assert days == sorted(set(days))
    width = DunningCase._meta.get_field("stage").max_length
    assert all(len(stage.code) <= width for stage in stages.STAGES)
    assert all(len(stage.code) <= OutboundEmail._meta.get_field("stage").max_length for stage in stages.STAGES)


def test_the_admin_age_brackets_and_help_follow_the_table(monkeypatch):
    assert stages.age_brackets() == [
        ("lt7", "Under 7 days", None, 7),
        ("7to14", "7–13 days", 7, 14),
        ("gte14", "14 days or more", 14, None),
    ]
    assert stages.ladder_summary() == "day 0, 7, 14 emails; pause at day 14"
    monkeypatch.setattr(stages, "STAGES", (*stages.STAGES, DAY21))
    assert [key for key, *_ in stages.age_brackets()] == ["lt7", "7to14", "14to21", "gte21"]
    assert stages.ladder_summary() == "day 0, 7, 14, 21 emails; pause at day 14"


@pytest.fixture
def day21_ladder(monkeypatch):
    """The table with a day-21 row, and the database's stage check rebuilt
    from it (as the migration `makemigrations` writes for it would)."""
    old = next(c for c in DunningCase._meta.constraints if c.name == "billing_case_stage_known")
    monkeypatch.setattr(stages, "STAGES", (*stages.STAGES, DAY21))
    new = models.CheckConstraint(condition=stages.known_codes_q(), name=old.name)
    others = [c for c in DunningCase._meta.constraints if c is not old]

    def swap(remove, add):
        # SQLite rebuilds the table from the model's constraints: show it the one to add.
        monkeypatch.setattr(DunningCase._meta, "constraints", [*others, add])
        with connection.schema_editor() as editor:
            editor.remove_constraint(DunningCase, remove)
            editor.add_constraint(DunningCase, add)

    swap(old, new)
    yield
    DunningCase.objects.filter(stage=DAY21.code).delete()  # the old check would refuse them
    swap(new, old)


@pytest.mark.django_db(transaction=True)
def test_a_day21_stage_is_one_row(day21_ladder, customer_account, customer, django_capture_on_commit_callbacks):
    customer_account.stripe_customer_id = "cus_day21"
    customer_account.save(update_fields=["stripe_customer_id"])
    opened = timezone.now() - timedelta(days=30)
    case = DunningCase.objects.create(
        account=customer_account,
        stripe_customer_id="cus_day21",
        stripe_subscription_id="sub_day21",
        amount_due=2900,
        currency="gbp",
        opened_at=opened,
        last_event_at=opened,
        next_action_at=opened,
    )

    def sweep(days):
        with django_capture_on_commit_callbacks(execute=True):
            dunning.dunning_run(now=opened + timedelta(days=days))

    for days in (0, 7, 14):
        sweep(days)
    case.refresh_from_db()
    assert case.stage == "day14" and case.next_action_at == opened + timedelta(days=21)
    sweep(20.9)
    assert len(mail.outbox) == 3
    sweep(21)
    sweep(21)  # twice: nothing more
    sweep(25)
    assert len(mail.outbox) == 4
    last = mail.outbox[-1]
    assert last.subject == "Final notice: your Levqor payment of £29.00 is still due"
    assert "Final notice, please pay now to keep your data." in last.body
    assert "Final notice, please pay now to keep your data." in last.alternatives[0][0]
    case.refresh_from_db()
    assert case.stage == "day21" and case.next_action_at is None
    sent = dunning_emails(case, status="sent")
    assert list(sent.values_list("stage", flat=True)) == ["day0", "day7", "day14", "day21"]
    assert sent.get(stage="day21").tags == ["dunning", "dunning-day21"]
