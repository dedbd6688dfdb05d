"""The dunning ladder's one table (`billing.stages`): the choices, the
constraint, the sweep and the email derive from it; the one reminder
template reads exactly as the three per-stage templates it replaced; and a
day-21 stage is one row."""

# The legacy templates below are quoted verbatim, long lines and all.
# ruff: noqa: E501

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, models
from django.template import engines
from django.utils import timezone

from billing import dunning, notices, stages
from billing.models import DunningCase, DunningNotice, EmailLog, Stage
from levqor import emails

# The templates/emails/dunning-day0, -day7 and -day14 folders as they were
# before one reminder template served every stage: the bodies were
# byte-identical, the subjects differed.
LEGACY_SUBJECTS = {
    "day0": """Payment failed for your Levqor subscription ({{ amount }})
""",
    "day7": """Second reminder: your Levqor payment of {{ amount }} is still due
""",
    "day14": """Your Levqor account is paused: payment of {{ amount }} not received
""",
}
LEGACY_BODY_TXT = """Hello{% if user.name %} {{ user.name }}{% endif %},

{{ sentence }}

Amount due: {{ amount }}{% if account %} for {{ account.name }}{% endif %}.
{% if hard_decline %}
Your bank declined the card{% if case.decline_code %} ({{ case.decline_code }}){% endif %} and will not accept another attempt, so there will be no automatic retry: please add a new card.
{% elif next_retry %}
We will try the card again on {{ next_retry|date:"j F Y" }}.
{% endif %}
{% if hard_decline %}Add a new card and pay{% else %}Pay the invoice or update your card{% endif %}: {{ pay_url }}

Your billing page: {{ billing_url }}

Questions? Write to {{ support_email }}.

Levqor
{{ base_url }}
"""
LEGACY_BODY_HTML = """<!doctype html>
<html lang="en-GB"><body style="font-family: system-ui, sans-serif; color: #1b1f24;">
<p>Hello{% if user.name %} {{ user.name }}{% endif %},</p>
<p><strong>{{ sentence }}</strong></p>
<p>Amount due: {{ amount }}{% if account %} for {{ account.name }}{% endif %}.</p>
{% if hard_decline %}
<p>Your bank declined the card{% if case.decline_code %} ({{ case.decline_code }}){% endif %} and will not accept another attempt, so there will be no automatic retry: please add a new card.</p>
{% elif next_retry %}
<p>We will try the card again on {{ next_retry|date:"j F Y" }}.</p>
{% endif %}
<p><a href="{{ pay_url }}" style="background:#2f4bd6;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none;">{% if hard_decline %}Add a new card and pay{% else %}Pay the invoice or update your card{% endif %}</a></p>
<p style="font-size:13px;color:#5b6470;">Or paste this address into your browser: {{ pay_url }}<br>Your billing page: <a href="{{ billing_url }}">{{ billing_url }}</a></p>
<p style="font-size:13px;color:#5b6470;">Questions? Write to <a href="mailto:{{ support_email }}">{{ support_email }}</a>.</p>
</body></html>
"""

DAY21 = stages.DunningStage(
    code="day21",
    day=21,
    label="Day 21: final notice",
    subject="Final notice: your Levqor payment of {amount} is still due",
    sentence="Final notice, please pay now to keep your data.",
)


def _legacy_render(code: str, context: dict) -> tuple[str, str, str]:
    """What emails.render produced with the old per-stage folders."""
    from django.conf import settings

    context = {"base_url": settings.LEVQOR_BASE_URL, "support_email": settings.LEVQOR_SUPPORT_EMAIL, **context}
    engine = engines["django"]
    subject = " ".join(engine.from_string(LEGACY_SUBJECTS[code]).render(context).split())
    return (
        subject,
        engine.from_string(LEGACY_BODY_TXT).render(context),
        engine.from_string(LEGACY_BODY_HTML).render(context),
    )


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
    template, name = notices._message(code)
    assert (template, name) == ("dunning-reminder", f"dunning-{code}")
    assert emails.render(template, context) == _legacy_render(code, context)


def test_the_stages_enum_and_email_kinds_come_from_the_table():
    assert Stage.choices == [(stage.code, stage.label) for stage in stages.STAGES]
    assert DunningNotice.Kind.choices == [
        ("day0", "Day 0 reminder"),
        ("day7", "Day 7 reminder"),
        ("day14", "Day 14: paused"),
        ("recovered", "Payment received"),
    ]
    constraint = next(c for c in DunningCase._meta.constraints if c.name == "billing_case_stage_known")
    assert constraint.condition == models.Q(stage__in=["", "day0", "day7", "day14"]) == stages.known_codes_q()


def test_the_table_is_in_day_order_and_fits_the_columns():
    days = [stage.day for stage in stages.STAGES]
    assert days == sorted(set(days))
    width = DunningCase._meta.get_field("stage").max_length
    assert all(len(stage.code) <= width for stage in stages.STAGES)
    assert all(len(stage.code) <= DunningNotice._meta.get_field("kind").max_length for stage in stages.STAGES)


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
    assert list(EmailLog.objects.filter(case=case).values_list("kind", flat=True)) == ["day0", "day7", "day14", "day21"]
    assert EmailLog.objects.get(case=case, kind="day21").template == "dunning-day21"
