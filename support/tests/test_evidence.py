"""Chargeback evidence from the admin: saved, then submitted to Stripe (the
loopback fake answering with Stripe's own dispute shape) before due_by."""

import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from compliance.models import AuditEvent
from support import services
from support.models import Dispute, EvidenceFile

from .conftest import dispute_object, event

pytestmark = pytest.mark.django_db

DISPUTE = "dp_evidence_0001"
CHARGE = "ch_evidence_0001"


@pytest.fixture
def chargeback(fake_stripe, stripe_customer, deliver):
    fake_stripe.add_charge(CHARGE, stripe_customer)
    obj = dispute_object(
        dispute_id=DISPUTE, charge_id=CHARGE, status="needs_response", due_by=int(time.time()) + 3 * 86400
    )
    fake_stripe.set_dispute(obj)
    deliver(event("charge.dispute.created", obj, created=int(time.time()) - 60))
    return Dispute.objects.get(stripe_dispute_id=DISPUTE)


def test_it_submits_the_evidence_once_from_the_admin(staff_client, chargeback, fake_stripe):
    url = reverse("admin:support_dispute_change", args=[chargeback.pk])
    page = staff_client.get(url).content.decode()
    assert "Evidence for the bank (Stripe)" in page
    form = {
        "status": "in-review",
        "resolution_notes": "",
        "reply": "",
        "internal_note": "",
        "evidence_product_description": "Growth plan, monthly",
        "evidence_customer_communication": "Customer confirmed the renewal by email on 2 May.",
        "evidence_access_activity_log": "Signed in 14 times in May.",
        "submit_evidence": "on",
    }
    assert staff_client.post(url, form).status_code == 302
    chargeback.refresh_from_db()
    assert chargeback.stripe_status == "under_review" and chargeback.evidence_submission_count == 1
    assert chargeback.evidence_submitted_at is not None
    sent = fake_stripe.disputes[DISPUTE]["evidence"]
    assert sent["product_description"] == "Growth plan, monthly"
    assert "renewal by email" in sent["uncategorized_text"] and sent.get("customer_communication") is None
    assert [p for m, p in fake_stripe.requests if m == "POST" and p.startswith("/v1/disputes/")] == [
        f"/v1/disputes/{DISPUTE}"
    ]
    # Stripe no longer awaits a response: a second submission is refused without calling it.
    with pytest.raises(ValidationError, match="not awaiting"):
        services.chargeback_evidence_submit(dispute=chargeback, actor=None)
    actions = set(AuditEvent.objects.filter(target_id=str(chargeback.pk)).values_list("action", flat=True))
    assert {"support.chargeback.evidence_saved", "support.chargeback.evidence_submitted"} <= actions


def test_it_refuses_evidence_after_the_due_date_or_when_empty(chargeback, staff, fake_stripe):
    with pytest.raises(ValidationError, match="Fill in"):
        services.chargeback_evidence_submit(dispute=chargeback, actor=staff)
    services.chargeback_evidence_save(dispute=chargeback, evidence={"uncategorized_text": "x"}, actor=staff)
    late = chargeback.evidence_due_by + timedelta(seconds=1)
    with pytest.raises(ValidationError, match="due date has passed"):
        services.chargeback_evidence_submit(dispute=chargeback, actor=staff, now=late)
    with pytest.raises(ValidationError, match="Unknown evidence"):
        services.chargeback_evidence_save(dispute=chargeback, evidence={"colour": "red"}, actor=staff)
    assert not [p for m, p in fake_stripe.requests if m == "POST" and p.startswith("/v1/disputes/")]
    assert timezone.now() < chargeback.evidence_due_by


# --- Files: uploaded to Stripe's Files API, their ids set on the evidence fields -------------

PDF = b"%PDF-1.7\n" + b"receipt for Growth monthly\n" * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300


def evidence_form(**extra) -> dict:
    return {"status": "in-review", "resolution_notes": "", "reply": "", "internal_note": "", **extra}


def test_staff_attach_files_that_are_uploaded_to_stripe_and_submitted(staff_client, chargeback, fake_stripe):
    url = reverse("admin:support_dispute_change", args=[chargeback.pk])
    page = staff_client.get(url).content.decode()
    assert 'enctype="multipart/form-data"' in page and "File: Receipt or invoice" in page
    form = evidence_form(
        evidence_product_description="Growth plan, monthly",
        evidence_file_receipt=SimpleUploadedFile("Invoice May.pdf", PDF),
        evidence_file_customer_communication=SimpleUploadedFile("renewal-email.png", PNG),
    )
    assert staff_client.post(url, form).status_code == 302
    assert not fake_stripe.uploads  # attached, not yet sent
    files = {f.field: f for f in EvidenceFile.objects.filter(dispute=chargeback)}
    assert set(files) == {"receipt", "customer_communication"}
    assert files["receipt"].original_name == "Invoice May.pdf" and files["receipt"].size == len(PDF)
    assert "Invoice May" not in files["receipt"].file.name  # stored under a random name
    assert "Attached: Invoice May.pdf" in staff_client.get(url).content.decode()

    form = evidence_form(evidence_product_description="Growth plan, monthly", submit_evidence="on")
    assert staff_client.post(url, form).status_code == 302
    # Two multipart uploads, purpose dispute_evidence, the files' bytes, named by their field.
    assert len(fake_stripe.uploads) == 2
    for upload in fake_stripe.uploads:
        assert upload["content_type"].startswith("multipart/form-data; boundary=")
        assert upload["parts"]["purpose"]["content"] == b"dispute_evidence"
    sent = {u["parts"]["file"]["filename"]: u["parts"]["file"]["content"] for u in fake_stripe.uploads}
    assert sent == {"receipt.pdf": PDF, "customer_communication.png": PNG}
    # The file ids land on the matching evidence fields of the submitted dispute.
    files = {f.field: f.stripe_file_id for f in EvidenceFile.objects.filter(dispute=chargeback)}
    evidence = fake_stripe.disputes[DISPUTE]["evidence"]
    assert files["receipt"].startswith("file_") and evidence["receipt"] == files["receipt"]
    assert evidence["customer_communication"] == files["customer_communication"]
    assert evidence["product_description"] == "Growth plan, monthly"
    chargeback.refresh_from_db()
    assert chargeback.stripe_status == "under_review" and chargeback.evidence_submission_count == 1
    submitted = AuditEvent.objects.get(target_id=str(chargeback.pk), action="support.chargeback.evidence_submitted")
    assert submitted.details["files"] == files
    attached = AuditEvent.objects.filter(
        target_id=str(chargeback.pk), action="support.chargeback.evidence_file_attached"
    )
    assert attached.count() == 2


def test_a_retried_submission_uploads_no_file_twice(chargeback, staff, fake_stripe):
    services.chargeback_evidence_file_attach(
        dispute=chargeback, field="service_documentation", upload=SimpleUploadedFile("handover.pdf", PDF), actor=staff
    )
    fake_stripe.fail_next_dispute = 1  # the file goes up, then Stripe fails on the dispute update
    with pytest.raises(ValidationError, match="Stripe refused the evidence"):
        services.chargeback_evidence_submit(dispute=chargeback, actor=staff)
    stored = EvidenceFile.objects.get(dispute=chargeback).stripe_file_id
    assert stored.startswith("file_") and len(fake_stripe.uploads) == 1
    services.chargeback_evidence_submit(dispute=chargeback, actor=staff)
    assert len(fake_stripe.uploads) == 1  # the stored id was used
    assert fake_stripe.disputes[DISPUTE]["evidence"]["service_documentation"] == stored
    assert fake_stripe.disputes[DISPUTE]["status"] == "under_review"


def test_a_file_stripe_refuses_at_upload_stops_the_submission(chargeback, staff, fake_stripe):
    services.chargeback_evidence_file_attach(
        dispute=chargeback, field="receipt", upload=SimpleUploadedFile("receipt.pdf", PDF), actor=staff
    )
    fake_stripe.fail_next_upload = 1
    with pytest.raises(ValidationError, match="Stripe refused the file receipt.pdf"):
        services.chargeback_evidence_submit(dispute=chargeback, actor=staff)
    assert EvidenceFile.objects.get(dispute=chargeback).stripe_file_id == ""
    assert not [p for m, p in fake_stripe.requests if m == "POST" and p.startswith("/v1/disputes/")]
    chargeback.refresh_from_db()
    assert chargeback.stripe_status == "needs_response" and chargeback.evidence_submitted_at is None


@pytest.mark.parametrize(
    ("files", "field", "message"),
    [
        ({"evidence_file_receipt": ("big.pdf", b"%PDF-" + b"x" * (5 * 1024 * 1024))}, "receipt", "at most 5.0 MB"),
        ({"evidence_file_receipt": ("terms.docx", b"PK\x03\x04word")}, "receipt", "PDF, JPEG or PNG"),
        ({"evidence_file_receipt": ("fake.pdf", b"just text")}, "receipt", "not a PDF file"),
        (
            {
                "evidence_file_receipt": ("a.pdf", b"%PDF-" + b"x" * (3 * 1024 * 1024)),
                "evidence_file_service_documentation": ("b.pdf", b"%PDF-" + b"x" * (2 * 1024 * 1024)),
            },
            "service_documentation",
            "at most 4.5 MB of files per dispute",
        ),
    ],
    ids=["over-5MB", "docx", "not-really-pdf", "over-4.5MB-together"],
)
def test_files_stripe_would_refuse_are_form_errors(staff_client, chargeback, fake_stripe, files, field, message):
    url = reverse("admin:support_dispute_change", args=[chargeback.pk])
    uploads = {key: SimpleUploadedFile(name, content) for key, (name, content) in files.items()}
    response = staff_client.post(url, evidence_form(submit_evidence="on", **uploads))
    assert response.status_code == 200  # the form again, with the error beside the field
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[f"evidence_file_{field}"])
    assert not EvidenceFile.objects.exists() and not fake_stripe.uploads
    chargeback.refresh_from_db()
    assert chargeback.evidence_submitted_at is None


def test_a_new_file_replaces_the_old_and_files_can_be_removed(staff_client, chargeback, staff):
    first = services.chargeback_evidence_file_attach(
        dispute=chargeback, field="receipt", upload=SimpleUploadedFile("old.pdf", PDF), actor=staff
    )
    services.chargeback_evidence_file_attach(
        dispute=chargeback, field="receipt", upload=SimpleUploadedFile("new.png", PNG), actor=staff
    )
    assert list(EvidenceFile.objects.values_list("field", "original_name")) == [("receipt", "new.png")]
    assert not EvidenceFile.objects.filter(pk=first.pk).exists()
    url = reverse("admin:support_dispute_change", args=[chargeback.pk])
    assert staff_client.post(url, evidence_form(evidence_files_remove=["receipt"])).status_code == 302
    assert not EvidenceFile.objects.exists()
