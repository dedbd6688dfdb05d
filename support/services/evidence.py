"""Chargeback evidence: staff fill Stripe's dispute evidence fields and
attach files (receipt, customer communication, service documentation, ...)
in the admin and submit them to the bank through Stripe before `due_by`.
On submission each file not yet at Stripe is uploaded to Stripe's Files API
(purpose `dispute_evidence`) and its file id kept on the attachment in its
own transaction, so a retried submission never uploads it twice; then the
dispute is updated with the text fields and the file ids, `submit=true`.
The outcome arrives later as charge.dispute.closed (disputes.py)."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing import credits as billing_credits
from compliance import audit
from levqor.accounts.models import User

from ..attachments import evidence_file_check
from ..models import Dispute, EvidenceFile

# Stripe's text evidence fields (https://docs.stripe.com/api/disputes/evidence_object), with staff labels.
EVIDENCE_FIELDS = {
    "product_description": "What was sold (the plan or build)",
    "customer_name": "Customer name",
    "customer_email_address": "Customer email address",
    "billing_address": "Billing address",
    "service_date": "Service date(s)",
    "access_activity_log": "Sign-in and usage activity",
    "customer_communication": "Customer communication (summary)",
    "cancellation_policy_disclosure": "How the cancellation policy was shown",
    "cancellation_rebuttal": "Why the customer is not owed a cancellation refund",
    "refund_policy_disclosure": "How the refund policy was shown",
    "refund_refusal_explanation": "Why no refund was given",
    "duplicate_charge_explanation": "Why the charge is not a duplicate",
    "uncategorized_text": "Anything else",
}
# customer_communication is a file field at Stripe: its summary goes in uncategorized_text.
FILE_FIELDS = {"customer_communication"}
AWAITING = ("needs_response", "warning_needs_response")


def _clean(evidence: dict) -> dict:
    unknown = sorted(set(evidence) - set(EVIDENCE_FIELDS))
    if unknown:
        raise ValidationError({"evidence": [f"Unknown evidence fields: {', '.join(unknown)}."]})
    return {key: value.strip()[:20000] for key, value in evidence.items() if (value or "").strip()}


@transaction.atomic
def chargeback_evidence_save(*, dispute: Dispute, evidence: dict, actor: User) -> bool:
    """Keep the evidence draft on the chargeback. Audited when it changes."""
    locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
    cleaned = _clean(evidence)
    if cleaned == locked.evidence:
        return False
    locked.evidence = cleaned
    locked.save(update_fields=["evidence", "updated_at"])
    audit.record(
        actor=actor, action="support.chargeback.evidence_saved", target=locked, details={"fields": sorted(cleaned)}
    )
    return True


def _for_stripe(evidence: dict) -> dict:
    sent = {key: value for key, value in evidence.items() if key not in FILE_FIELDS}
    if evidence.get("customer_communication"):
        extra = f"Customer communication: {evidence['customer_communication']}"
        sent["uncategorized_text"] = f"{sent.get('uncategorized_text', '')}\n\n{extra}".strip()
    return sent


def _check_open(dispute: Dispute, now: datetime) -> None:
    """Raise unless Stripe still awaits evidence for this chargeback, before its due date."""
    if not dispute.is_chargeback:
        raise ValidationError({"evidence": ["Only a Stripe chargeback takes evidence."]})
    if dispute.stripe_status not in AWAITING:
        raise ValidationError({"evidence": [f"Stripe is not awaiting evidence (status {dispute.stripe_status})."]})
    if dispute.evidence_due_by is None or now >= dispute.evidence_due_by:
        raise ValidationError({"evidence": ["The evidence due date has passed: Stripe no longer accepts it."]})


def evidence_files_bytes(*, dispute: Dispute, excluding: str = "") -> int:
    """The size of the dispute's attached evidence files (but the one on `excluding`)."""
    files = EvidenceFile.objects.filter(dispute=dispute).exclude(field=excluding)
    return files.aggregate(total=Sum("size"))["total"] or 0


@transaction.atomic
def chargeback_evidence_file_attach(
    *, dispute: Dispute, field: str, upload, actor: User, now: datetime | None = None
) -> EvidenceFile:
    """Attach a file for one of Stripe's file evidence fields, replacing the
    one attached there before. Refused once submitted, after `due_by`, and
    for a file Stripe would refuse (type, size, the dispute's combined size).
    Stored privately; audited."""
    locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
    _check_open(locked, now or timezone.now())
    if field not in EvidenceFile.Field.values:
        raise ValidationError({"field": [f"Choose one of: {', '.join(EvidenceFile.Field.values)}."]})
    try:
        name, content_type, size = evidence_file_check(
            upload, others_bytes=evidence_files_bytes(dispute=locked, excluding=field)
        )
    except ValidationError as exc:
        raise ValidationError({field: exc.message_dict["file"]}) from exc
    replaced = EvidenceFile.objects.filter(dispute=locked, field=field).first()
    if replaced is not None:
        storage, path = replaced.file.storage, replaced.file.name
        replaced.delete()
        transaction.on_commit(lambda: storage.delete(path))
    attached = EvidenceFile(
        dispute=locked, field=field, original_name=name, content_type=content_type, size=size, uploaded_by=actor
    )
    attached.file.save(name, upload, save=False)
    attached.save()
    audit.record(
        actor=actor,
        action="support.chargeback.evidence_file_attached",
        target=locked,
        details={"field": field, "name": name, "size": size, "replaced": replaced is not None},
    )
    return attached


@transaction.atomic
def chargeback_evidence_file_remove(*, dispute: Dispute, field: str, actor: User) -> bool:
    """Detach the file on one evidence field (before submission). Audited."""
    locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if locked.evidence_submitted_at is not None:
        raise ValidationError({"evidence": ["The evidence is submitted: its files stay as they were sent."]})
    attached = EvidenceFile.objects.filter(dispute=locked, field=field).first()
    if attached is None:
        return False
    storage, path = attached.file.storage, attached.file.name
    attached.delete()
    transaction.on_commit(lambda: storage.delete(path))
    audit.record(
        actor=actor, action="support.chargeback.evidence_file_removed", target=locked, details={"field": field}
    )
    return True


def _upload(attached: EvidenceFile) -> str:
    """Stripe's file id for an attachment: the stored one, or upload it now
    and store it (a conditional update: a racing worker's id, which Stripe's
    idempotency key makes the same file, is kept)."""
    if attached.stripe_file_id:
        return attached.stripe_file_id
    with attached.file.open("rb") as handle:
        content = handle.read()
    suffix = attached.original_name.rsplit(".", 1)[-1].lower()
    try:
        file_id = billing_credits.dispute_evidence_file_upload(
            filename=f"{attached.field}.{suffix}",
            content=content,
            idempotency_key=f"levqor-evidence-file-{attached.pk}",
        )
    except billing_credits.EvidenceError as exc:
        raise ValidationError({attached.field: [str(exc)]}) from exc
    EvidenceFile.objects.filter(pk=attached.pk, stripe_file_id="").update(stripe_file_id=file_id)
    return EvidenceFile.objects.values_list("stripe_file_id", flat=True).get(pk=attached.pk)


def chargeback_evidence_submit(*, dispute: Dispute, actor: User, now: datetime | None = None) -> Dispute:
    """Upload the attached files Stripe does not have yet (each once: its
    Stripe file id is stored as soon as Stripe answers), then submit the
    saved evidence with the file ids to Stripe (once: the row is locked and
    the idempotency key names the submission). Refused after `due_by`, when
    Stripe no longer awaits a response, or with no evidence. Audited."""
    now = now or timezone.now()
    _check_open(Dispute.objects.get(pk=dispute.pk), now)
    files = list(EvidenceFile.objects.filter(dispute=dispute))
    if not files and not Dispute.objects.get(pk=dispute.pk).evidence:
        raise ValidationError({"evidence": ["Fill in the evidence first."]})
    file_ids = {attached.field: _upload(attached) for attached in files}
    return _submit(dispute=dispute, file_ids=file_ids, actor=actor, now=now)


@transaction.atomic
def _submit(*, dispute: Dispute, file_ids: dict, actor: User, now: datetime) -> Dispute:
    locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
    _check_open(locked, now)
    if not locked.evidence and not file_ids:
        raise ValidationError({"evidence": ["Fill in the evidence first."]})
    key = f"levqor-evidence-{locked.pk}-{locked.evidence_submission_count + 1}"
    try:
        answer = billing_credits.dispute_evidence_submit(
            dispute_id=locked.stripe_dispute_id,
            evidence={**_for_stripe(locked.evidence), **file_ids},
            idempotency_key=key,
        )
    except billing_credits.EvidenceError as exc:
        raise ValidationError({"evidence": [str(exc)]}) from exc
    locked.stripe_status = (answer.get("status") or locked.stripe_status)[:40]
    locked.evidence_submission_count = int((answer.get("evidence_details") or {}).get("submission_count") or 0)
    locked.evidence_submitted_at = now
    locked.save()
    audit.record(
        actor=actor,
        action="support.chargeback.evidence_submitted",
        target=locked,
        details={"fields": sorted(locked.evidence), "files": file_ids, "stripe_status": locked.stripe_status},
    )
    return locked
