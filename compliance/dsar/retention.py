"""Retention: how long each kind of data is kept (settings.LEVQOR_RETENTION_DAYS)
and the daily job that applies it. Each kind is pruned by the app that owns
the data, through its privacy provider; compliance only knows the policy."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import audit
from . import providers

# What each kind is, for the command's output and the README.
KINDS = {
    "run_logs": "workflow run log lines",
    "status_raw_snapshots": "raw 5-minute status snapshots (rolled up first)",
    "webhook_payloads": "Stripe webhook bodies and stored event payloads",
    "expired_exports": "data export ZIP files, counted from their link's expiry",
    "audit_details": "personal details of audit entries (the entries and their chain stay)",
    "email_log": "the outbox's sent, skipped, dropped and given-up emails (address, subject, context)",
    "sign_in_attempts": "failed sign-in logs and lockout counters (IP address, browser, username)",
    "sign_in_logs": "successful sign-in logs (IP address, browser, times)",
    "abuse_signals": "abuse signals (hashed identifiers)",
    "unconfirmed_subscriptions": "marketing subscriptions whose confirmation link went unused",
    "cookie_consents": "cookie banner choices (the banner has asked again since)",
    "terms_evidence": "IP address and browser of terms acceptances (the acceptance stays)",
    "unverified_privacy_requests": "privacy-centre requests never verified (verified ones stay as evidence)",
    "sla_attachments": "files attached to SLA credit requests, counted from the decision (the request stays)",
    "status_unconfirmed_subscribers": "status-page email and webhook subscriptions whose confirmation link went unused",
}


@dataclass(frozen=True)
class Outcome:
    kind: str
    days: int
    cutoff: datetime
    counts: dict[str, int]  # provider name → rows that go (dry run) or went

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def policy() -> dict[str, int]:
    return dict(settings.LEVQOR_RETENTION_DAYS)


def retention_apply(*, dry_run: bool = False, now: datetime | None = None, actor=None) -> list[Outcome]:
    """Apply the retention policy to every kind (or, with `dry_run`, count
    what would go). Idempotent: a second run finds nothing more to remove.
    Each kind runs in its own transaction with its audit entry."""
    now = now or timezone.now()
    handlers = providers.retention_handlers()
    outcomes = []
    for kind, days in policy().items():
        cutoff = now - timedelta(days=days)
        counts = {}
        with transaction.atomic():
            for provider_name, prune in handlers.get(kind, []):
                counts[provider_name] = prune(cutoff=cutoff, dry_run=dry_run)
            outcome = Outcome(kind=kind, days=days, cutoff=cutoff, counts=counts)
            if not dry_run and outcome.total:
                audit.record(
                    actor=actor,
                    action="retention.applied",
                    target_type="retention",
                    target_id=kind,
                    details={"days": days, "cutoff": cutoff.isoformat(), "counts": counts},
                )
        outcomes.append(outcome)
    return outcomes
