"""The right to object (GDPR art. 21), and the one policy every email send
and every processing path asks.

    objections.may_send(user_or_email, "marketing", topic="offers")  -> bool
    objections.may_process(user_or_email, "profiling")               -> bool

`compliance.mail.send` calls `may_send` for every message, so no sender can
forget. Apps call `may_process` before profiling a customer, running
automated decisions about them or counting them in analytics.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from levqor.lib.security import pii_hash

from . import audit, policy
from .marketing import marketing_unsubscribe_email
from .models import Objection
from .outbox.services import email_queue

logger = logging.getLogger(__name__)

KINDS = policy.OBJECTION_KINDS
EMAIL_PURPOSES = policy.EMAIL_PURPOSES
PROCESSING_PURPOSES = policy.PROCESSING_PURPOSES
# The read-only rules live in `policy` (the outbox applies them without
# importing these services); callers may keep asking them here.
objected = policy.objected
may_send = policy.may_send
may_process = policy.may_process
_email_of = policy.email_of


# --- selectors -------------------------------------------------------------------


def objections_for(*, user) -> dict[str, bool]:
    """{kind: objected?} for every kind."""
    active = set(Objection.objects.filter(email=_email_of(user), active=True).values_list("kind", flat=True))
    return {kind: kind in active for kind in KINDS}


def objection_export(*, user) -> list[dict]:
    """Every objection on record for `user`'s address, as plain dicts (DSAR)."""
    return [
        {
            "kind": o.kind,
            "active": o.active,
            "source": o.source,
            "created_at": o.created_at.isoformat(),
            "updated_at": o.updated_at.isoformat(),
        }
        for o in Objection.objects.filter(email=_email_of(user)).order_by("kind")
    ]


def objection_counts() -> dict[str, int]:
    return {kind: Objection.objects.filter(kind=kind, active=True).count() for kind in KINDS}


# --- services ----------------------------------------------------------------------


@transaction.atomic
def objections_set(*, user, choices: dict[str, bool], source: str, actor, now=None) -> list[str]:
    """Set the person's objections to exactly `choices` (kinds not named are
    left alone). `user` is an account user or, for someone without an
    account (the privacy centre), an email address. Returns the kinds that
    changed; setting the same choices twice changes nothing. Objecting to
    marketing also unsubscribes them."""
    unknown = set(choices) - set(KINDS)
    if unknown:
        raise ValueError(f"Unknown objection kind(s): {', '.join(sorted(unknown))}.")
    now = now or timezone.now()
    email = _email_of(user)
    account = None if isinstance(user, str) else user
    changed = []
    for kind, wanted in choices.items():
        row = Objection.objects.select_for_update().filter(email=email, kind=kind).first()
        if row is None:
            if not wanted:
                continue
            Objection.objects.create(email=email, user=account, kind=kind, active=True, source=source, updated_at=now)
        elif row.active == bool(wanted):
            continue
        else:
            row.active = bool(wanted)
            row.source = source
            row.user = account or row.user
            row.updated_at = now
            row.save()
        changed.append(kind)
        audit.record(
            actor=actor,
            action="objection.made" if wanted else "objection.withdrawn",
            target=account or Objection.objects.get(email=email, kind=kind),
            details={"kind": kind, "via": source},
        )
    if choices.get(Objection.Kind.MARKETING):
        marketing_unsubscribe_email(email=email, actor=actor, now=now)
    if changed:
        logger.info("objections changed for %s: %s", pii_hash(email), ",".join(changed))
        _confirm(user=user, email=email, choices=choices, changed=changed, now=now)
    return changed


def _confirm(*, user, email: str, choices: dict[str, bool], changed: list[str], now) -> None:
    """Email the person what changed (once per change), so an objection made
    in their name without them is noticed."""
    labels = dict(Objection.Kind.choices)
    lines = [
        f"{labels[kind]}: {'you object, so we no longer do this' if choices[kind] else 'your objection is withdrawn'}"
        for kind in changed
    ]
    email_queue(
        kind="compliance.objection-recorded",
        about=user if getattr(user, "pk", None) else ("compliance.objection", email),
        stage=now.isoformat(),
        template="objection-recorded",
        to=email,
        context={"changes": lines, "manage_url": settings.LEVQOR_BASE_URL + reverse("compliance:opt_out")},
    )
