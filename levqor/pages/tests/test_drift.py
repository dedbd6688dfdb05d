"""The drift check (levqor.E003): every page and email template is rendered
and any price, SLA hour, build figure or trial mention that is not the locked
one fails `manage.py check`, naming the template."""

import copy

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from levqor import plans
from levqor.pages import checks, drift


@pytest.fixture
def extra_templates(settings, tmp_path):
    """A template folder searched before the project's, to change a template in."""
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [tmp_path, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates

    def write(name: str, text: str):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    return write


def drift_errors():
    return [message for message in checks.check_locked_facts() if message.id == "levqor.E003"]


@pytest.mark.django_db
def test_every_page_and_email_template_is_read_and_none_drifts_as_shipped():
    names = drift.template_names()

    assert "pages/pricing.html" in names and "status/page.html" in names
    assert "emails/dunning-reminder/body.html" in names and "emails/magic-link/subject.txt" in names
    assert drift_errors() == []


@pytest.mark.django_db
def test_it_fires_on_a_changed_email_template(extra_templates):
    extra_templates(
        "emails/dunning-recovered/body.txt",
        "Thanks {{ name }}, your payment went through. Your Growth plan continues at £30 a month.\n",
    )

    errors = drift_errors()

    assert len(errors) == 1
    assert errors[0].obj == "templates/emails/dunning-recovered/body.txt"
    assert '"£30 a month"' in errors[0].msg and "Growth is £29, £290" in errors[0].msg
    with pytest.raises(SystemCheckError, match="levqor.E003"):
        call_command("check")


@pytest.mark.django_db
def test_a_template_that_cannot_render_is_still_read(extra_templates):
    extra_templates(
        "emails/new-thing/body.html", "{% url 'no-such-view' case.pk %}<p>Starts with a 14-day free trial.</p>"
    )

    errors = drift_errors()

    assert errors and '"14-day free trial" (the trial is 7 days)' in errors[0].msg


@pytest.mark.parametrize(
    "text, problem",
    [
        ("Pro support replies within 6 hours.", "Pro responds in 12 h"),
        ("First response within 2 h on every plan.", "first-response times are"),
        ("Business: £1,500 per year", "yearly prices are"),
        ("Our Enterprise build: £450, 7 workflows", "Enterprise is £499"),
        ("Starter build: 2 workflows in 5–7 business days", "Starter builds 1"),
        ("Delivered in 3–5 business days", "build timelines are"),
        ("Backed by a 30-day money-back guarantee", "the guarantee is 14 days"),
        ("7-day free trial • Card required", "outside the verbatim trial sentence"),
        ("Cancel before Day 10 to avoid charges", "outside the verbatim trial sentence"),
    ],
)
def test_each_kind_of_drift_is_caught(text, problem):
    assert any(problem in finding for finding in drift.findings(text)), drift.findings(text)


@pytest.mark.parametrize(
    "text",
    [
        plans.TRIAL_TEXT,
        "Starter £9 £90 48 h Growth £29 £290 24 h Pro £59 £590 12 h Business £149 £1490 4 h",
        "Pro £299 one-off 3 workflows Delivered in 10–14 business days",
        "We reply to disputes within 5 business days. Recovery point objective 24 hours.",
        "Business continuity: we aim to recover within 8 hours.",
        "Credited £14.90 for the October outage.",
    ],
)
def test_the_locked_values_and_other_figures_pass(text):
    assert drift.findings(text) == []
