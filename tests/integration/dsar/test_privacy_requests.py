"""The privacy centre for anyone (/privacy/request): asking never reveals
whether an address is known, verification by a POST within 7 days (twice
is harmless), the per-address limit, and every staff answer: the address
export (its ZIP holds that address's data and nobody else's), an account's
export and erasure going through their own flows, erasure by address,
objections, corrections and refusals."""

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from compliance import marketing
from compliance.dsar import privacy_requests
from compliance.dsar.models import DataExport, ErasureRequest, PrivacyRequest, add_months
from compliance.models import AuditEvent, MarketingSubscription, Objection, OutboundEmail
from levqor.accounts.models import User
from status.models import Subscriber
from support.models import Dispute

pytestmark = pytest.mark.django_db

STRANGER = "reader@example.test"


def verify_path(message) -> str:
    match = re.search(r"http://testserver(/privacy/request/verify/[^\s\"<]+)", message.body)
    assert match, message.body
    return match.group(1)


def download_path(message) -> str:
    match = re.search(r"http://testserver(/privacy/request/download/[^\s\"<]+)", message.body)
    assert match, message.body
    return match.group(1)


def ask(client, capture, email=STRANGER, kind="access", **extra):
    with capture(execute=True):
        return client.post("/privacy/request", {"email": email, "kind": kind, **extra})


def verified(client, capture, email=STRANGER, kind="access", **extra) -> PrivacyRequest:
    """Ask and verify as the person would; returns the request in the staff queue."""
    ask(client, capture, email, kind, **extra)
    with capture(execute=True):
        assert client.post(verify_path(mail.outbox[-1])).status_code == 200
    return PrivacyRequest.objects.filter(status="pending").latest("pk")


def answer(request, staff, capture, note=""):
    with capture(execute=True):
        assert privacy_requests.privacy_request_answer(request=request, note=note, actor=staff)
    request.refresh_from_db()
    return request


def page(response, email: str = STRANGER) -> str:
    """The page as the person sees it, with their address and the per-page CSRF token taken out."""
    text = response.content.decode().replace(email, "EMAIL")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)


def open_zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def rows(archive, name) -> list:
    return json.loads(archive.read(name))


# --- asking ---------------------------------------------------------------------------


def test_it_shows_the_form_to_anyone(client):
    page = client.get("/privacy/request").content.decode()
    assert "Ask about your personal data" in page
    for kind in ("access", "erasure", "objection", "correction"):
        assert f'value="{kind}"' in page


def test_it_answers_the_same_for_known_and_unknown_addresses(client, customer, django_capture_on_commit_callbacks):
    known = ask(client, django_capture_on_commit_callbacks, email=customer.email)
    unknown = ask(client, django_capture_on_commit_callbacks, email="nobody@example.test")
    assert known.status_code == unknown.status_code == 200
    assert page(known, customer.email) == page(unknown, "nobody@example.test")
    # Both are recorded and both get the same verification email.
    assert sorted(PrivacyRequest.objects.values_list("email", flat=True)) == ["nobody@example.test", customer.email]
    assert [m.to for m in mail.outbox] == [[customer.email], ["nobody@example.test"]]
    assert mail.outbox[0].subject == mail.outbox[1].subject
    assert all(r.status == "unverified" and r.user is None for r in PrivacyRequest.objects.all())


def test_it_refuses_a_bad_form_with_400(client):
    assert client.post("/privacy/request", {"email": "not an address", "kind": "access"}).status_code == 400
    assert client.post("/privacy/request", {"email": STRANGER, "kind": "everything"}).status_code == 400
    assert not PrivacyRequest.objects.exists()


def test_it_sends_at_most_three_unverified_requests_per_address_a_day(client, django_capture_on_commit_callbacks):
    pages = [page(ask(client, django_capture_on_commit_callbacks)) for _ in range(4)]
    assert len(set(pages)) == 1  # the fourth answer looks the same
    assert len(mail.outbox) == 3
    assert PrivacyRequest.objects.count() == 3
    # A day later the address may ask again.
    PrivacyRequest.objects.update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    ask(client, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 4


# --- verifying --------------------------------------------------------------------------


def test_it_verifies_only_on_post_and_counts_the_deadline_from_then(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = privacy_requests.privacy_request_submit(
            email=STRANGER, kind="erasure", now=timezone.now() - timedelta(days=6)
        )
    link = verify_path(mail.outbox[-1])
    shown = client.get(link)  # a mail scanner following the link
    assert shown.status_code == 200 and "Confirm my request" in shown.content.decode()
    request.refresh_from_db()
    assert request.status == "unverified"
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(link)
    assert "Your request is confirmed" in done.content.decode()
    request.refresh_from_db()
    today = timezone.localdate()
    assert request.status == "pending" and request.verified_at is not None
    assert request.due_on == request.deadline_on == add_months(today, 1)
    assert mail.outbox[-1].subject == "We have your request about your personal data"
    assert add_months(today, 1).strftime("%-d %B %Y") in mail.outbox[-1].body


def test_verifying_twice_changes_nothing(client, django_capture_on_commit_callbacks):
    ask(client, django_capture_on_commit_callbacks)
    link = verify_path(mail.outbox[-1])
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(link).status_code == 200
    assert AuditEvent.objects.filter(action="privacy_request.verified").count() == 1
    assert len(mail.outbox) == 2  # the verification, then one acknowledgement


def test_it_refuses_an_expired_or_unknown_link(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = privacy_requests.privacy_request_submit(
            email=STRANGER, kind="access", now=timezone.now() - timedelta(days=7, minutes=1)
        )
    response = client.post(verify_path(mail.outbox[-1]))
    assert response.status_code == 400 and "valid for 7 days" in response.content.decode()
    request.refresh_from_db()
    assert request.status == "unverified"
    assert client.post("/privacy/request/verify/made-up").status_code == 400
    assert not PrivacyRequest.objects.filter(status="pending").exists()


# --- access ---------------------------------------------------------------------------------


def test_it_exports_everything_held_about_an_address_without_an_account(
    client, staff, other_customer, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    with capture(execute=True):
        marketing.marketing_subscribe(email=STRANGER, topics={"offers": True})
        marketing.marketing_subscribe(email=other_customer.email)  # someone else's: never in the ZIP
    Subscriber.objects.create(email=STRANGER, confirmed_at=timezone.now())
    Subscriber.objects.create(email=other_customer.email, confirmed_at=timezone.now())
    Objection.objects.create(email=STRANGER, kind="profiling", source="web", updated_at=timezone.now())
    request = verified(client, capture, details="Everything please")
    answer(request, staff, capture, note="Here it is.")
    assert request.status == "done" and request.user is None and request.link_is_live
    message = mail.outbox[-1]
    assert message.to == [STRANGER] and message.subject == "The personal data we hold about you"
    assert "Here it is." in message.body

    response = Client().get(download_path(message))  # no sign-in: the link is the key
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    archive = open_zip(response)
    names = set(archive.namelist())
    assert {"consents.json", "status.json", "support.json", "emails.json", "audit.json"} <= names
    assert {"privacy_requests.json", "README.txt", "manifest.json"} <= names
    consents = rows(archive, "consents.json")
    assert [r["record"] for r in consents] == ["marketing_subscription", "objection"]
    assert consents[0]["email"] == STRANGER and consents[0]["topics"]["offers"] is True
    assert [r["email"] for r in rows(archive, "status.json")] == [STRANGER]
    assert rows(archive, "support.json") == []
    assert rows(archive, "privacy_requests.json")[0]["details"] == "Everything please"
    kinds = {r["template"] for r in rows(archive, "emails.json")}
    assert {"marketing-confirm", "privacy-request-verify", "privacy-request-received"} <= kinds
    actions = {r["action"] for r in rows(archive, "audit.json")}
    assert {"privacy_request.submitted", "privacy_request.verified", "email.sent"} <= actions
    assert other_customer.email not in b"".join(archive.read(n) for n in names).decode()
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["files"]["status.json"]["rows"] == 1
    assert "privacy request number" in archive.read("README.txt").decode()
    assert AuditEvent.objects.filter(action="privacy_request.downloaded", target_id=str(request.pk)).exists()


def test_a_former_customer_gets_their_disputes_by_address(client, staff, customer, django_capture_on_commit_callbacks):
    Dispute.objects.create(account=customer.account, user=customer, category="billing", subject="Charged twice")
    User.objects.filter(pk=customer.pk).update(is_active=False)  # the account is closed
    request = verified(client, django_capture_on_commit_callbacks, email=customer.email)
    answer(request, staff, django_capture_on_commit_callbacks)
    archive = open_zip(Client().get(download_path(mail.outbox[-1])))
    assert [r["subject"] for r in rows(archive, "support.json")] == ["Charged twice"]
    assert not DataExport.objects.exists()


def test_an_expired_or_forged_download_link_is_refused(client, staff, django_capture_on_commit_callbacks):
    request = answer(verified(client, django_capture_on_commit_callbacks), staff, django_capture_on_commit_callbacks)
    link = download_path(mail.outbox[-1])
    PrivacyRequest.objects.filter(pk=request.pk).update(link_expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(link).status_code == 410
    assert Client().get(link[:-3] + "abc").status_code == 404
    assert Client().get("/privacy/request/download/nothing").status_code == 404
    # Staff send a new link: it works for 7 more days, and the old one is dead.
    with django_capture_on_commit_callbacks(execute=True):
        assert privacy_requests.privacy_request_resend_link(request=request, actor=staff)
    fresh = download_path(mail.outbox[-1])
    assert fresh != link
    assert Client().get(fresh).status_code == 200
    assert Client().get(link).status_code == 404


def test_an_account_holder_gets_their_own_account_export(
    client, staff, customer, other_customer, django_capture_on_commit_callbacks
):
    request = verified(client, django_capture_on_commit_callbacks, email=customer.email.upper())
    answer(request, staff, django_capture_on_commit_callbacks)
    export = DataExport.objects.get()
    assert export.user == customer and export.requested_via == "staff"
    assert request.data_export == export and request.user == customer
    assert not DataExport.objects.filter(user=other_customer).exists()
    # No address export: the copy is downloaded signed in, as that account.
    assert privacy_requests.link_check(token=privacy_requests.link_token(request))[1] == "invalid"
    answered = [m for m in mail.outbox if m.subject == "Your privacy request is answered"]
    assert len(answered) == 1 and "you download it signed in" in answered[0].body
    assert not [m for m in mail.outbox if "/privacy/request/download/" in m.body]


# --- erasure, objection, correction, refusal ---------------------------------------------------


def test_it_erases_an_address_without_an_account(client, staff, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    with capture(execute=True):
        marketing.marketing_subscribe(email=STRANGER)
    Subscriber.objects.create(email=STRANGER, confirmed_at=timezone.now())
    Objection.objects.create(email=STRANGER, kind="analytics", source="web", updated_at=timezone.now())
    request = verified(client, capture, kind="erasure", details="Forget me")
    answer(request, staff, capture)
    assert request.status == "done" and request.email == "" and request.details == ""
    assert not MarketingSubscription.objects.filter(email=STRANGER).exists()
    assert not Subscriber.objects.filter(email=STRANGER).exists()
    # Only the suppression stays: the address is never sent marketing again.
    assert list(Objection.objects.filter(email=STRANGER).values_list("kind", "active")) == [("marketing", True)]
    assert mail.outbox[-1].to == [STRANGER] and "erased" in mail.outbox[-1].body
    assert not OutboundEmail.objects.filter(to__iexact=STRANGER).exists()  # the address is forgotten everywhere
    assert request.outcome["erased"]["status"]["status_subscribers"] == 1


def test_an_account_holders_erasure_becomes_their_erasure_request(
    client, staff, customer, django_capture_on_commit_callbacks
):
    request = verified(client, django_capture_on_commit_callbacks, email=customer.email, kind="erasure")
    answer(request, staff, django_capture_on_commit_callbacks)
    opened = ErasureRequest.objects.get()
    assert opened.user == customer and opened.status == "pending"
    assert request.erasure_request == opened and request.email == customer.email
    assert customer.email in [m.to[0] for m in mail.outbox if m.subject == "Your privacy request is answered"]


def test_it_records_objections_for_an_address(client, staff, django_capture_on_commit_callbacks):
    request = verified(
        client, django_capture_on_commit_callbacks, kind="objection", objection_kinds=["profiling", "analytics"]
    )
    answer(request, staff, django_capture_on_commit_callbacks)
    held = Objection.objects.filter(email=STRANGER, active=True)
    assert sorted(held.values_list("kind", flat=True)) == ["analytics", "profiling"]
    assert all(o.user is None and o.source == "staff" for o in held)
    subjects = [m.subject for m in mail.outbox]
    assert "Your privacy request is answered" in subjects
    assert any("objection" in m.body.lower() for m in mail.outbox if m.subject != subjects[0])


def test_a_correction_needs_a_note_which_is_emailed(client, staff, django_capture_on_commit_callbacks):
    request = verified(client, django_capture_on_commit_callbacks, kind="correction", details="My name is Ann")
    with pytest.raises(ValidationError):
        privacy_requests.privacy_request_answer(request=request, note="", actor=staff)
    request.refresh_from_db()
    assert request.status == "pending"
    answer(request, staff, django_capture_on_commit_callbacks, note="We changed your name to Ann.")
    assert request.status == "done"
    assert "We changed your name to Ann." in mail.outbox[-1].body


def test_a_refusal_is_emailed_and_a_request_is_answered_once(client, staff, django_capture_on_commit_callbacks):
    request = verified(client, django_capture_on_commit_callbacks, kind="correction")
    with pytest.raises(ValidationError):
        privacy_requests.privacy_request_refuse(request=request, reason=" ", actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        assert privacy_requests.privacy_request_refuse(request=request, reason="We hold no such data.", actor=staff)
        assert not privacy_requests.privacy_request_refuse(request=request, reason="Again", actor=staff)
        assert not privacy_requests.privacy_request_answer(request=request, note="x", actor=staff)
    assert mail.outbox[-1].subject == "We cannot carry out your privacy request"
    assert "We hold no such data." in mail.outbox[-1].body
    assert AuditEvent.objects.filter(action="privacy_request.refused").count() == 1


# --- staff queue -------------------------------------------------------------------------------


def test_staff_see_and_answer_the_queue(client, staff, staff_client, django_capture_on_commit_callbacks):
    from levqor.lib import attention

    ask(Client(), django_capture_on_commit_callbacks)  # unverified: not in the queue yet
    request = verified(Client(), django_capture_on_commit_callbacks, kind="objection")
    counts = {item.label: item.count for item in attention.queue_counts()}
    assert counts["Privacy requests awaiting staff"] == 1
    url = "/admin/compliance/privacyrequest/"
    assert STRANGER in staff_client.get(url + "?status__exact=pending").content.decode()
    assert staff_client.get(f"{url}{request.pk}/change/").status_code == 200
    assert AuditEvent.objects.filter(action="privacy_request_viewed", target_id=str(request.pk)).exists()
    chosen = {"action": "answer", "_selected_action": [str(request.pk)]}
    form = staff_client.post(url, chosen).content.decode()  # the action first asks for the note
    assert "Answer the request" in form and STRANGER in form
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url, {**chosen, "apply": "1", "note": ""}, follow=True)
    request.refresh_from_db()
    assert request.status == "done" and request.decided_by == staff
    assert AuditEvent.objects.filter(action="privacy_request.answered", actor=staff).exists()


def test_retention_deletes_only_old_unverified_requests(client, django_capture_on_commit_callbacks):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        old = privacy_requests.privacy_request_submit(email=STRANGER, kind="access", now=now - timedelta(days=40))
        privacy_requests.privacy_request_submit(email=STRANGER, kind="access", now=now - timedelta(days=2))
    kept = verified(client, django_capture_on_commit_callbacks, email="other@example.test")
    PrivacyRequest.objects.filter(pk=kept.pk).update(created_at=now - timedelta(days=40))
    cutoff = now - timedelta(days=30)
    assert privacy_requests.privacy_requests_prune_unverified(cutoff=cutoff, dry_run=True) == 1
    assert privacy_requests.privacy_requests_prune_unverified(cutoff=cutoff, dry_run=False) == 1
    assert not PrivacyRequest.objects.filter(pk=old.pk).exists()
    assert PrivacyRequest.objects.count() == 2


def test_staff_are_told_a_correction_needs_a_note(staff_client, django_capture_on_commit_callbacks):
    request = verified(Client(), django_capture_on_commit_callbacks, kind="correction")
    chosen = {"action": "answer", "_selected_action": [str(request.pk)], "apply": "1", "note": ""}
    page = staff_client.post("/admin/compliance/privacyrequest/", chosen, follow=True).content.decode()
    assert "Say what was corrected" in page
    request.refresh_from_db()
    assert request.status == "pending"


def test_the_deadline_of_a_verified_request_can_be_extended(client, staff, django_capture_on_commit_callbacks):
    request = verified(client, django_capture_on_commit_callbacks, kind="objection")
    with django_capture_on_commit_callbacks(execute=True):
        privacy_requests.privacy_request_extend_deadline(
            request=request, months=1, reason="We are checking old backups.", actor=staff
        )
    request.refresh_from_db()
    assert request.deadline_on == add_months(request.received_on, 2)
    assert "request about your personal data" in mail.outbox[-1].body
    assert "We are checking old backups." in mail.outbox[-1].body
