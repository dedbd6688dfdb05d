"""Chargeback evidence: staff fill Stripe's dispute evidence fields in the
admin and submit them to the bank through Stripe before `due_by`. The
outcome arrives later as charge.dispute.closed (disputes.py)."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing import credits as billing_credits
from compliance import audit
from levqor.accounts.models import User

from ..models import Dispute

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


@transaction.atomic
def chargeback_evidence_submit(*, dispute: Dispute, actor: User, now: datetime | None = None) -> Dispute:
    """Submit the saved evidence to Stripe (once: the row is locked and the
    idempotency key names the submission). Refused after `due_by`, when Stripe
    no longer awaits a response, or with no evidence. Audited."""
    now = now or timezone.now()
    locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if not locked.is_chargeback:
        raise ValidationError({"evidence": ["Only a Stripe chargeback takes evidence."]})
    if locked.stripe_status not in AWAITING:
        raise ValidationError({"evidence": [f"Stripe is not awaiting evidence (status {locked.stripe_status})."]})
    if locked.evidence_due_by is None or now >= locked.evidence_due_by:
        raise ValidationError({"evidence": ["The evidence due date has passed: Stripe no longer accepts it."]})
    if not locked.evidence:
        raise ValidationError({"evidence": ["Fill in the evidence first."]})
    key = f"levqor-evidence-{locked.pk}-{locked.evidence_submission_count + 1}"
    try:
        answer = billing_credits.dispute_evidence_submit(
            dispute_id=locked.stripe_dispute_id, evidence=_for_stripe(locked.evidence), idempotency_key=key
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
        details={"fields": sorted(locked.evidence), "stripe_status": locked.stripe_status},
    )
    return locked
