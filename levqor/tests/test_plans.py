import dataclasses

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from levqor import plans
from levqor.pages import checks


def errors_by_id():
    return {message.id: message for message in checks.check_locked_facts()}


@pytest.mark.django_db
def test_it_passes_the_system_checks_as_shipped():
    assert errors_by_id() == {}
    call_command("check")  # raises SystemCheckError on any error


def test_the_facts_match_spec_section_0():
    table = {plan.code: (plan.monthly, plan.yearly, plan.support_sla_hours) for plan in plans.PLANS}
    assert table == {
        "starter": (9, 90, 48),
        "growth": (29, 290, 24),
        "pro": (59, 590, 12),
        "business": (149, 1490, 4),
    }
    dfy = {t.code: (t.price, t.workflows, t.business_days_min, t.business_days_max) for t in plans.DFY_TIERS}
    assert dfy == {"starter": (149, 1, 5, 7), "pro": (299, 3, 10, 14), "enterprise": (499, 7, 21, 28)}
    assert plans.MONEY_BACK_DAYS == 14
    assert plans.TRIAL_TEXT == "7-day free trial • Card required • Cancel before Day 7 to avoid charges"


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.setattr(plans, "PLANS", (dataclasses.replace(plans.PLANS[0], monthly=10), *plans.PLANS[1:])),
        lambda m: m.setattr(plans, "PLANS", (*plans.PLANS[:3], dataclasses.replace(plans.PLANS[3], yearly=1499))),
        lambda m: m.setattr(
            plans,
            "PLANS",
            (plans.PLANS[0], dataclasses.replace(plans.PLANS[1], support_sla_hours=36), *plans.PLANS[2:]),
        ),
        lambda m: m.setattr(
            plans, "DFY_TIERS", (*plans.DFY_TIERS[:2], dataclasses.replace(plans.DFY_TIERS[2], workflows=8))
        ),
        lambda m: m.setattr(plans, "DFY_TIERS", plans.DFY_TIERS[:2]),
        lambda m: m.setattr(plans, "MONEY_BACK_DAYS", 30),
        lambda m: m.setattr(
            plans, "TRIAL_TEXT", "7-day free trial - Card required - Cancel before Day 7 to avoid charges"
        ),
    ],
    ids=[
        "starter-monthly",
        "business-yearly",
        "growth-sla",
        "dfy-workflows",
        "dfy-tier-removed",
        "money-back",
        "trial",
    ],
)
@pytest.mark.django_db
def test_it_fails_the_check_when_a_fact_drifts(monkeypatch, change):
    change(monkeypatch)

    errors = errors_by_id()

    assert "levqor.E001" in errors
    with pytest.raises(SystemCheckError, match="levqor.E001"):
        call_command("check")


def test_it_fails_the_check_when_the_pricing_page_stops_showing_a_fact(monkeypatch):
    real = checks.render_pricing_page
    monkeypatch.setattr(checks, "render_pricing_page", lambda: real().replace("£1490", "£1,490"))

    errors = errors_by_id()

    assert "levqor.E001" not in errors
    assert "levqor.E002" in errors
    assert '"£1490" not shown in section plan-business' in errors["levqor.E002"].msg


def test_it_fails_the_check_when_the_pricing_page_cannot_render(monkeypatch):
    def broken():
        raise RuntimeError("template exploded")

    monkeypatch.setattr(checks, "render_pricing_page", broken)

    assert "failed to render" in errors_by_id()["levqor.E002"].msg


def test_it_rejects_an_unknown_plan_code():
    assert plans.plan_by_code("pro").monthly == 59
    with pytest.raises(ValueError, match="Unknown plan 'platinum'"):
        plans.plan_by_code("platinum")
