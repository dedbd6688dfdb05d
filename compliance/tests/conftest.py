"""Fixtures for the compliance tests: published terms, a confirmed marketing
subscriber, a critical screening block."""

import re

import pytest
from django.core import mail

from compliance import marketing, screening, terms
from compliance.models import MarketingSubscription, TermsVersion
from compliance.terms_first import first_text


def terms_text(*, change: str = "") -> str:
    """A full terms document (the first version's), with `change` as one more paragraph."""
    text = first_text(support_email="help@example.test")
    return f"{text}\n\n{change}\n" if change else text


@pytest.fixture
def published_terms(db, staff) -> TermsVersion:
    version = TermsVersion.objects.create(version="2026-11", text=terms_text(), changelog="First version.")
    terms.terms_version_publish(version=version, actor=staff)
    return version


def confirm_link(message) -> str:
    match = re.search(r"http://testserver(/marketing/confirm/[^\s\"<]+)", message.body)
    assert match, message.body
    return match.group(1)


@pytest.fixture
def confirmed_subscriber(db, django_capture_on_commit_callbacks):
    """`reader@example.test`, confirmed for every topic; the outbox is emptied."""
    with django_capture_on_commit_callbacks(execute=True):
        marketing.marketing_subscribe(email="reader@example.test")
    token = confirm_link(mail.outbox[-1]).rsplit("/", 1)[1]
    with django_capture_on_commit_callbacks(execute=True):
        marketing.marketing_confirm(token=token)
    mail.outbox = []
    return MarketingSubscription.objects.get(email="reader@example.test")


CRITICAL_PAYLOAD = {"name": "Clinic intake", "steps": [{"prompt": "Summarise the patient's diagnosis"}]}


@pytest.fixture
def block(customer):
    screening.ensure_default_rules()
    result = screening.screen_payload(account=customer.account, kind="workflow_definition", payload=CRITICAL_PAYLOAD)
    assert result.blocked
    return screening.record_block(account=customer.account, kind="workflow_definition", result=result, actor=customer)
