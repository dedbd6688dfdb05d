"""Compliance's own privacy provider: consent records and the audit trail
in the export, their erasure, and the retention of expired export files and
old audit details. Listed first in settings.LEVQOR_PRIVACY_PROVIDERS."""

from datetime import datetime

from django.db.models import Q

from .. import audit, consent, marketing, objections, terms
from ..models import AuditEvent, CookieConsent, MarketingSubscription, Objection, TermsAcceptance
from ..outbox import services as outbox
from .exports import exports_delete_files, exports_expired_before, exports_prune_files
from .providers import ExportFile, Provider


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


def email_rows(*, user):
    return outbox.email_rows(address=user.email or "")


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
        "emails.json": ExportFile(
            "Every email we sent you or have queued for you: what kind, its subject, when it was sent.",
            rows=email_rows,
        ),
    },
    erase=erase_user,
    retention={
        "expired_exports": prune_expired_exports,
        "audit_details": prune_audit_details,
        "email_log": outbox.emails_prune,
    },
)
