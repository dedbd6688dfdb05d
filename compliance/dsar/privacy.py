"""Compliance's own privacy provider: consent records and the audit trail
in the export, their erasure, and the retention of expired export files and
old audit details. Listed first in settings.LEVQOR_PRIVACY_PROVIDERS."""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from .. import audit, consent, marketing, objections, security, terms
from ..marketing_links import normalise
from ..models import (
    AuditEvent,
    CookieConsent,
    MarketingSubscription,
    Objection,
    PrivacyRequest,
    ScreeningAppeal,
    TermsAcceptance,
    TermsNotice,
)
from ..outbox import services as outbox
from .exports import exports_delete_files, exports_expired_before, exports_prune_files
from .privacy_requests import privacy_requests_prune_unverified
from .providers import ExportFile, Processing, Provider, audit_history


def consents_export(*, user) -> dict:
    """Cookie choices, terms acceptances, the marketing subscription and
    objections of `user`, as JSON-ready dicts and lists."""
    return {
        "cookie_consents": consent.consent_export(user=user),
        "terms_acceptances": terms.terms_export(user=user),
        "marketing_subscription": marketing.marketing_export(user=user),
        "objections": objections.objection_export(user=user),
    }


def consent_rows(*, user):
    for row in consent.consent_export(user=user):
        yield {"record": "cookie_consent", **row}
    for row in terms.terms_export(user=user):
        yield {"record": "terms_acceptance", **row}
    subscription = marketing.marketing_export(user=user)
    if subscription is not None:
        yield {"record": "marketing_subscription", **subscription}
    for row in objections.objection_export(user=user):
        yield {"record": "objection", **row}


def audit_events_about(user):
    """Events whose target is this user, or that this user did."""
    return audit.entries_for(user, also=Q(actor_id=user.pk))


def audit_rows(*, user):
    events = audit_events_about(user).order_by("seq")
    for event in events.values(
        "seq", "occurred_at", "actor_id", "action", "target_type", "target_id", "details", "details_erased_at"
    ).iterator(chunk_size=2000):
        actor_id = event["actor_id"]
        # Staff are named by role, not by address: their identity is their own personal data.
        by = "you" if actor_id == user.pk else ("system" if actor_id is None else "Levqor staff")
        yield {
            "seq": event["seq"],
            "occurred_at": event["occurred_at"],
            "by": by,
            "action": event["action"],
            "target": f"{event['target_type']}:{event['target_id']}" if event["target_type"] else "",
            "details": event["details"],
            "details_erased": event["details_erased_at"] is not None,
        }


def appeal_rows(*, user):
    """The person's appeals against a screening block: what they wrote and the outcome."""
    appeals = ScreeningAppeal.objects.filter(submitted_by=user).order_by("created_at")
    fields = ("id", "block_id", "explanation", "status", "created_at", "decided_at", "decision_note")
    for appeal in appeals.values(*fields):
        yield {"record": "screening_appeal", **appeal}


def email_rows(*, user):
    return outbox.email_rows(address=user.email or "")


# --- by address, for people without an account (the privacy centre) ---------------------


def _address_records(email: str) -> list:
    email = normalise(email)
    return [
        *MarketingSubscription.objects.filter(email=email),
        *Objection.objects.filter(email=email).order_by("kind"),
        *PrivacyRequest.objects.filter(email=email).order_by("created_at"),
    ]


def address_consent_rows(*, email: str):
    """The address's marketing subscription and objections."""
    for record in _address_records(email):
        if isinstance(record, MarketingSubscription):
            yield {
                "record": "marketing_subscription",
                "email": record.email,
                "status": record.status,
                "topics": record.topics,
                "created_at": record.created_at,
                "confirmed_at": record.confirmed_at,
                "unsubscribed_at": record.unsubscribed_at,
            }
        elif isinstance(record, Objection):
            yield {
                "record": "objection",
                "kind": record.kind,
                "active": record.active,
                "source": record.source,
                "created_at": record.created_at,
                "updated_at": record.updated_at,
            }


def address_request_rows(*, email: str):
    """The privacy requests made with the address."""
    for record in PrivacyRequest.objects.filter(email=normalise(email)).order_by("created_at"):
        yield {
            "id": record.pk,
            "kind": record.kind,
            "status": record.status,
            "details": record.details,
            "created_at": record.created_at,
            "verified_at": record.verified_at,
            "deadline_on": record.deadline_on if record.verified_at else None,
            "answered_at": record.decided_at,
            "note_to_you": record.staff_note,
        }


def address_audit_rows(*, email: str):
    """The audit trail of those records (and of the emails sent about them)."""
    yield from audit_history(*_address_records(email))


def address_email_rows(*, email: str):
    return outbox.email_rows(address=email)


def erase_address(*, email: str, actor) -> dict:
    """Erase what compliance holds about an address with no account: the
    marketing subscription, the privacy requests' address and text, the
    emails' address. An objection to marketing is kept (made if missing):
    it is the suppression that keeps the address from ever being sent
    marketing again, and holds nothing else."""
    email = normalise(email)
    now = timezone.now()
    suppression, _ = Objection.objects.update_or_create(
        email=email,
        kind=Objection.Kind.MARKETING,
        defaults={"active": True, "source": "staff", "updated_at": now},
    )
    objections_deleted = Objection.objects.filter(email=email).exclude(pk=suppression.pk).delete()[0]
    audit.record(actor=actor, action="objection.suppression_kept", target=suppression, details={})
    return {
        "marketing_subscriptions_deleted": MarketingSubscription.objects.filter(email=email).delete()[0],
        "objections_deleted": objections_deleted,
        "privacy_requests_anonymised": PrivacyRequest.objects.filter(email=email).update(email="", details=""),
        **outbox.emails_forget_address(address=email),
    }


def erase_user(*, user, actor) -> dict:
    """Anonymise compliance's records of this person; consent proof keeps
    its facts (what was chosen, when) without the person."""
    email = (user.email or "").strip().lower()
    return {
        "cookie_consents_detached": CookieConsent.objects.filter(user=user).update(
            user=None, user_agent="", ip_hash=""
        ),
        "terms_acceptances_anonymised": TermsAcceptance.objects.filter(user=user).update(
            ip_address=None, user_agent=""
        ),
        "marketing_subscriptions_deleted": MarketingSubscription.objects.filter(email=email).delete()[0],
        "objections_deleted": Objection.objects.filter(email=email).delete()[0],
        # Claims that a new-terms email went to them (the emails are the outbox's).
        "terms_notices_deleted": TermsNotice.objects.filter(user=user).delete()[0],
        "screening_appeals_blanked": ScreeningAppeal.objects.filter(submitted_by=user).update(
            explanation="[erased at the person's request]"
        ),
        "export_files_deleted": exports_delete_files(user=user),
        **outbox.emails_forget_address(address=email),
    }


def prune_expired_exports(*, cutoff: datetime, dry_run: bool) -> int:
    if dry_run:
        return exports_expired_before(cutoff).count()
    return exports_prune_files(cutoff=cutoff)


def prune_audit_details(*, cutoff: datetime, dry_run: bool) -> int:
    old = AuditEvent.objects.filter(occurred_at__lt=cutoff, details_erased_at__isnull=True)
    if dry_run:
        return old.count()
    return audit.blank_details(events=old)


provider = Provider(
    name="compliance",
    files={
        "consents.json": ExportFile(
            "Your cookie choices, terms of service acceptances (version, time, IP address), "
            "marketing subscription and objections to processing.",
            rows=consent_rows,
        ),
        "audit.json": ExportFile(
            "The audit trail entries about you or made by you: what was done, when, and by whom "
            "(you, Levqor staff or the system).",
            rows=audit_rows,
        ),
        "screening.json": ExportFile(
            "Your appeals against a high-risk data block: what you wrote, the decision and the note on it.",
            rows=appeal_rows,
        ),
        "emails.json": ExportFile(
            "Every email we sent you or have queued for you: what kind, its subject, when it was sent.",
            rows=email_rows,
        ),
    },
    erase=erase_user,
    address_files={
        "consents.json": ExportFile(
            "Your marketing subscription (status, topics, when confirmed) and your objections to processing.",
            rows=address_consent_rows,
        ),
        "privacy_requests.json": ExportFile(
            "The privacy requests made with your address: what was asked, when, and our answer.",
            rows=address_request_rows,
        ),
        "emails.json": ExportFile(
            "Every email we sent to your address or have queued for it: what kind, its subject, when it was sent.",
            rows=address_email_rows,
        ),
        "audit.json": ExportFile(
            "The audit trail entries about the records above: what was done, when, and by whom "
            "(the system or Levqor staff).",
            rows=address_audit_rows,
        ),
    },
    erase_address=erase_address,
    covers=(
        "compliance.CookieConsent",
        "compliance.TermsAcceptance",
        "compliance.TermsNotice",
        "compliance.MarketingSubscription",
        "compliance.Objection",
        "compliance.ScreeningAppeal",
        "compliance.AuditEvent",
        "compliance.OutboundEmail",
        "compliance.DataExport",  # its file is deleted; the row stays as the record of the answer
        "compliance.ErasureRequest",  # the person's note is blanked on completion; the row is the evidence
        # The erasure writes it: a hash of the erased address, kept so nothing is sent there again.
        "compliance.Suppression",
        "compliance.PrivacyRequest",
    ),
    prunes={
        "expired_exports": ("compliance.DataExport",),
        "audit_details": ("compliance.AuditEvent",),
        "email_log": ("compliance.OutboundEmail",),
        "sign_in_attempts": ("axes.AccessAttempt", "axes.AccessFailureLog"),
        "sign_in_logs": ("axes.AccessLog",),
        "abuse_signals": ("compliance.AbuseSignal",),
        "unconfirmed_subscriptions": ("compliance.MarketingSubscription",),
        "cookie_consents": ("compliance.CookieConsent",),
        "terms_evidence": ("compliance.TermsAcceptance",),
        "unverified_privacy_requests": ("compliance.PrivacyRequest",),
    },
    retention={
        "expired_exports": prune_expired_exports,
        "audit_details": prune_audit_details,
        "email_log": outbox.emails_prune,
        "sign_in_attempts": security.prune_sign_in_attempts,
        "sign_in_logs": security.prune_sign_in_logs,
        "abuse_signals": security.prune_abuse_signals,
        "unconfirmed_subscriptions": security.prune_unconfirmed_subscriptions,
        "cookie_consents": security.prune_cookie_consents,
        "terms_evidence": security.prune_terms_evidence,
        "unverified_privacy_requests": privacy_requests_prune_unverified,
    },
    processing=(
        Processing(
            activity="Consent and objection records",
            subjects="Customers, site visitors, marketing subscribers",
            data="Cookie choices, terms acceptances (version, time, IP address, browser), marketing "
            "subscription and topics, objections to processing",
            purpose="Prove what each person agreed to or objected to, and honour it everywhere",
            legal_basis="Legal obligation (art. 6(1)(c), art. 7(1))",
            retention="While the choice applies; marketing and objection records go on erasure",
            recipients=("Cloud hosting provider",),
        ),
        Processing(
            activity="Marketing email",
            subjects="Marketing subscribers",
            data="Email address, chosen topics, delivery status",
            purpose="Send the product news and offers the person asked for",
            legal_basis="Consent (art. 6(1)(a)), double opt-in",
            retention="Until the person unsubscribes or objects",
            recipients=("Resend (email delivery)", "Cloud hosting provider"),
        ),
        Processing(
            activity="Transactional email log (the outbox)",
            subjects="Customers, status subscribers, people with data requests",
            data="Email address, subject, template context, delivery status",
            purpose="Send each service email once, retry failures and show staff what was sent",
            legal_basis="Contract (art. 6(1)(b)) and legitimate interests (art. 6(1)(f))",
            retention_kind="email_log",
            recipients=("Resend (email delivery)", "Cloud hosting provider"),
        ),
        Processing(
            activity="Audit trail",
            subjects="Customers and staff",
            data="Who did what to which record, when, with the details of the change",
            purpose="Security, accountability and investigating disputes",
            legal_basis="Legitimate interests (art. 6(1)(f))",
            retention_kind="audit_details",
            recipients=("Cloud hosting provider",),
        ),
        Processing(
            activity="Data subject requests (access, export, erasure, objection, correction)",
            subjects="Customers, and anyone who asks at /privacy/request",
            data="The request, the email address it came from, its deadline, the export archive",
            purpose="Answer the person's rights under articles 15 to 21",
            legal_basis="Legal obligation (art. 6(1)(c))",
            retention_kind="expired_exports",
            recipients=("Amazon Web Services S3 (file storage)", "Resend (email delivery)"),
        ),
        Processing(
            activity="Privacy centre requests not (yet) verified",
            subjects="Anyone who asks at /privacy/request",
            data="Email address, the kind of request and what they wrote",
            purpose="Check the address is the person's before answering their request",
            legal_basis="Legal obligation (art. 6(1)(c), art. 12(6))",
            retention_kind="unverified_privacy_requests",
            recipients=("Resend (email delivery)", "Cloud hosting provider"),
        ),
        Processing(
            activity="Sign-in security and abuse signals",
            subjects="Anyone signing in or signing up",
            data="Failed sign-in attempts (IP address, browser), hashed abuse identifiers",
            purpose="Stop account takeover, card testing and sign-up abuse",
            legal_basis="Legitimate interests (art. 6(1)(f))",
            retention_kind="sign_in_attempts",
            recipients=("Cloud hosting provider",),
        ),
        Processing(
            activity="High-risk data screening",
            subjects="Customers' workflow users",
            data="Workflow definitions that look like health, legal or financial data; appeals",
            purpose="Keep special-category and high-risk data out of automated workflows",
            legal_basis="Legitimate interests (art. 6(1)(f)) and legal obligation (art. 9)",
            retention="While the workflow exists",
            recipients=("Cloud hosting provider",),
        ),
    ),
)
