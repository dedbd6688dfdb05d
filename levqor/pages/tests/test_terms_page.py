"""/terms is the current published terms version, and the database check
(levqor.E004 / E005) keeps that version a full document saying the locked facts."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from compliance import terms
from compliance.models import TermsVersion
from compliance.terms_first import first_text
from levqor import plans
from levqor.pages import checks, drift

pytestmark = pytest.mark.django_db


def terms_errors():
    return [m for m in checks.check_terms_document(databases=["default"]) if m.id.startswith("levqor.")]


def test_terms_shows_the_first_version_with_the_pages_words_and_design(client, staff):
    terms.terms_first_ensure(actor=staff)
    page = client.get("/terms").content.decode()
    text = drift.visible_text(page)
    assert f'<p class="trial">{plans.TRIAL_TEXT}</p>' in page
    assert '<nav class="toc" aria-labelledby="toc-heading">' in page
    assert '<section id="acceptable-use" aria-labelledby="acceptable-use-heading">' in page
    assert (
        f'<a href="mailto:{settings.LEVQOR_SUPPORT_EMAIL}">' in page and '<a href="/refunds">refund policy</a>' in page
    )
    assert "Nothing in these terms limits liability for death or personal injury" in text
    assert drift.findings(text) == []
    assert terms_errors() == []


def test_the_check_fails_a_stub_or_a_version_that_contradicts_the_locked_facts(staff):
    stub = TermsVersion.objects.create(version="2026-11", text="The terms.", changelog="x")
    TermsVersion.objects.filter(pk=stub.pk).update(published_at=stub.created_at)  # as an old demo database holds it
    [error] = terms_errors()
    assert error.id == "levqor.E004" and "too short" in error.msg
    with pytest.raises(SystemCheckError, match="levqor.E004"):
        call_command("check", databases=["default"])

    wrong = first_text(support_email="help@example.test").replace(plans.TRIAL_TEXT, "A 14-day free trial.")
    version = TermsVersion.objects.create(version="2027-01", text=wrong, changelog="Longer trial.")
    terms.terms_version_publish(version=version, actor=staff)
    [error] = terms_errors()
    assert error.id == "levqor.E005" and "14-day free trial" in error.msg


def test_without_a_published_version_the_check_warns_and_the_page_says_so(client):
    assert [m.id for m in terms_errors()] == ["levqor.W004"]
    assert "not published yet" in client.get("/terms").content.decode()
