"""The terms customers accept are the /terms document itself: one text per
version, shown on /terms and at its permanent address, accepted with its
SHA-256, never changed once published."""

import hashlib
import html
import re

import pytest
from django.core.exceptions import ValidationError

from compliance import terms, terms_first, terms_markup
from compliance.models import AuditEvent, TermsAcceptance, TermsVersion

from .conftest import terms_text

pytestmark = pytest.mark.django_db


def document_of(page: str) -> str:
    """The rendered terms inside a page (the /terms article or the acceptance box)."""
    match = re.search(r'<p class="lead">These terms apply.*?</section>(?=\s*(?:<footer|</div>))', page, re.S)
    assert match, page
    return match.group(0)


def test_the_first_version_is_sealed_and_a_full_document():
    assert terms_first.first_seal() == terms_first.FIRST_SEAL, "a published text never changes: make a new version"
    text = terms_first.first_text(support_email="help@example.test")
    assert terms_markup.problems(text) == []
    assert "{support_email}" not in text and "help@example.test" in text


def test_terms_show_the_current_version_and_old_versions_keep_their_address(client, published_terms, staff):
    first = client.get("/terms").content.decode()
    assert "Version 2026-11" in first and "Law and disputes" in first
    assert 'href="/terms/v/2026-11"' in first

    newer = TermsVersion.objects.create(
        version="2027-01", text=terms_text(change="A new clause about refunds."), changelog="Refunds clarified."
    )
    assert client.get("/terms/v/2027-01").status_code == 404  # a draft has no public page
    terms.terms_version_publish(version=newer, actor=staff)

    current = client.get("/terms").content.decode()
    assert "A new clause about refunds." in current and "Version 2027-01" in current
    old = client.get("/terms/v/2026-11")
    assert old.status_code == 200
    old_page = old.content.decode()
    assert "A new clause about refunds." not in old_page and "Law and disputes" in old_page
    assert "It is no longer in force" in old_page and 'href="/terms"' in old_page
    assert "no longer in force" not in client.get("/terms/v/2027-01").content.decode()
    assert client.get("/terms/v/1999-01").status_code == 404


def test_the_words_accepted_are_the_words_terms_shows(customer_client, customer, published_terms):
    public = customer_client.get("/terms").content.decode()
    screen = customer_client.get("/legal/accept-terms").content.decode()
    assert document_of(screen) == document_of(public)
    assert 'href="/terms/v/2026-11"' in screen
    # The page says the stored words, in order, and nothing else (the markup and the contents list aside).
    words = re.sub(r"\{[.#][a-z-]+\}", " ", published_terms.text)
    words = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", words)
    words = re.sub(r"^(?:## |- )", "", words, flags=re.M).replace("**", "")
    shown = re.sub(r'<nav class="toc".*?</nav>', " ", document_of(public), flags=re.S)
    assert " ".join(html.unescape(re.sub(r"<[^>]+>", "", shown)).split()) == " ".join(words.split())

    customer_client.post("/legal/accept-terms", {"version": "2026-11", "agree": "on", "next": "/account"})
    acceptance = TermsAcceptance.objects.get(user=customer)
    assert acceptance.version == published_terms
    assert acceptance.text_sha256 == hashlib.sha256(published_terms.text.encode()).hexdigest()
    event = AuditEvent.objects.get(action="terms.accepted")
    assert event.details["text_sha256"] == acceptance.text_sha256


def test_staff_see_the_hash_each_acceptance_recorded(staff_client, customer, published_terms):
    acceptance, _ = terms.terms_accept(user=customer, ip_address=None, mechanism="web")
    page = staff_client.get(f"/admin/compliance/termsacceptance/{acceptance.pk}/change/").content.decode()
    assert published_terms.text_sha256 in page


def test_a_later_edit_of_accepted_words_is_detectable(customer, published_terms):
    terms.terms_accept(user=customer, ip_address=None, mechanism="api")
    assert terms.terms_acceptances_of_other_text(version=published_terms) == 0
    # Behind the application's back (a database console): the hashes no longer match.
    TermsVersion.objects.filter(pk=published_terms.pk).update(text=published_terms.text + "\n\nA sneaky clause.")
    published_terms.refresh_from_db()
    assert terms.terms_acceptances_of_other_text(version=published_terms) == 1


def test_a_published_version_cannot_be_edited_only_replaced(staff_client, published_terms):
    published_terms.text = terms_text(change="Rewritten.")
    with pytest.raises(ValidationError, match="make a new version"):
        published_terms.save()
    published_terms.refresh_from_db()
    assert "Rewritten." not in published_terms.text

    page = staff_client.get(f"/admin/compliance/termsversion/{published_terms.pk}/change/").content.decode()
    assert "Make a new version from this one" in page and "/terms/v/2026-11" in page
    copy = staff_client.get(f"/admin/compliance/termsversion/add/?copy_of={published_terms.pk}").content.decode()
    assert "Law and disputes" in copy  # the draft starts from the published words


def test_a_draft_can_be_edited_until_it_is_published(staff, published_terms):
    draft = TermsVersion.objects.create(version="2027-01", text=terms_text(), changelog="Typos.")
    draft.text = terms_text(change="Edited while a draft.")
    draft.save()
    terms.terms_version_publish(version=draft, actor=staff)
    assert terms.terms_current() == draft


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "These are the demo terms of service of Levqor.\n\n1. Use the service lawfully.\n2. Pay for it.",
        "Draft of the next terms.",
        terms_text(change="These are the demo terms of service."),
    ],
)
def test_an_empty_or_stub_version_cannot_be_published(staff, text):
    version = TermsVersion.objects.create(version="2027-02", text=text, changelog="x")
    with pytest.raises(ValidationError, match="cannot be published"):
        terms.terms_version_publish(version=version, actor=staff)
    assert terms.terms_current() is None


def test_publishing_a_stub_in_admin_reports_why_and_publishes_nothing(staff_client):
    version = TermsVersion.objects.create(version="2027-02", text="The terms.", changelog="x")
    response = staff_client.post(
        "/admin/compliance/termsversion/",
        {"action": "publish", "_selected_action": [version.pk], "apply": "1"},
        follow=True,
    )
    assert "too short to be the full terms" in response.content.decode()
    version.refresh_from_db()
    assert not version.is_published


def test_the_markup_escapes_everything_but_its_own_constructs():
    rendered = terms_markup.render(
        "Hello <script>alert(1)</script> & [ok](/pricing) [bad](javascript:alert(1)) **firm** {.lead}\n\n"
        "## 1. One {#one}\n\n- a <b>\n- b\n\n## 2. Two\n\nEnd."
    )
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered and "&lt;b&gt;" in rendered
    assert '<a href="/pricing">ok</a>' in rendered and "javascript:" not in rendered
    assert '<p class="lead">' in rendered and "<strong>firm</strong>" in rendered
    assert '<section id="one" aria-labelledby="one-heading"><h2 id="one-heading">1. One</h2>' in rendered
    assert '<a href="#one">One</a>' in rendered and '<a href="#two">Two</a>' in rendered


def test_the_first_acceptance_asks_and_a_later_one_says_what_changed(customer_client, customer, published_terms, staff):
    first = customer_client.get("/legal/accept-terms").content.decode()
    assert "Please accept our terms of service" in first and "What changed" not in first
    terms.terms_accept(user=customer, ip_address=None, mechanism="web")
    newer = TermsVersion.objects.create(
        version="2027-01", text=terms_text(change="Refunds take 5 days."), changelog="Refunds now take 5 days."
    )
    terms.terms_version_publish(version=newer, actor=staff)
    later = customer_client.get("/legal/accept-terms").content.decode()
    assert "Our terms of service have changed" in later and "Refunds now take 5 days." in later
    assert "Refunds take 5 days." in document_of(later) and 'href="/terms/v/2027-01"' in later
