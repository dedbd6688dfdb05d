"""The right to object (GDPR art. 21), and the one policy every email send
and every processing path asks.

    objections.may_send(user_or_email, "marketing", topic="offers")  -> bool
    objections.may_process(user_or_email, "profiling")               -> bool

`compliance.mail.send` calls `may_send` for every message, so no sender can
forget. Apps call `may_process` before profiling a customer, running
automated decisions about them or counting them in analytics.
"""

import logging

from django.db import transaction
from django.utils import timezone

from levqor.lib.security import pii_hash

from . import audit
from .marketing import marketing_may_receive, marketing_unsubscribe_email
from .models import Objection

logger = logging.getLogger(__name__)

KINDS = tuple(Objection.Kind.values)

# Email purposes: "transactional" mail (sign-in links, receipts, billing and
# security notices, replies to the person's own requests) is always sent;
# "marketing" needs consent and no objection.
EMAIL_PURPOSES = ("transactional", "marketing")
# Processing purposes a person can object to.
PROCESSING_PURPOSES = ("profiling", "automation", "analytics")


def _email_of(user_or_email) -> str:
    if isinstance(user_or_email, str):
        return user_or_email.strip().lower()
    return (getattr(user_or_email, "email", "") or "").strip().lower()


def objected(user_or_email, kind: str) -> bool:
    """Whether an objection of this kind is in force for this person."""
    if kind not in KINDS:
        raise ValueError(f"Unknown objection kind {kind!r}; use one of {', '.join(KINDS)}.")
    email = _email_of(user_or_email)
    return bool(email) and Objection.objects.filter(email=email, kind=kind, active=True).exists()


def may_send(user_or_email, purpose: str, *, topic: str | None = None) -> bool:
    """May an email of this purpose go to this person? The single rule every
    sender goes through (compliance.mail.send)."""
    if purpose not in EMAIL_PURPOSES:
        raise ValueError(f"Unknown email purpose {purpose!r}; use one of {', '.join(EMAIL_PURPOSES)}.")
    if purpose == "transactional":
        return True
    email = _email_of(user_or_email)
    if objected(email, Objection.Kind.MARKETING):
        return False
    return marketing_may_receive(email=email, topic=topic)


def may_process(user_or_email, purpose: str) -> bool:
    """May we use this person's data for `purpose` (profiling, automation,
    analytics)? False once they object. Cheap: one indexed query."""
    if purpose not in PROCESSING_PURPOSES:
        raise ValueError(f"Unknown processing purpose {purpose!r}; use one of {', '.join(PROCESSING_PURPOSES)}.")
    return not objected(user_or_email, purpose)


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
    left alone). Returns the kinds that changed; setting the same choices
    twice changes nothing. Objecting to marketing also unsubscribes them."""
    unknown = set(choices) - set(KINDS)
    if unknown:
        raise ValueError(f"Unknown objection kind(s): {', '.join(sorted(unknown))}.")
    now = now or timezone.now()
    email = _email_of(user)
    changed = []
    for kind, wanted in choices.items():
        row = Objection.objects.select_for_update().filter(email=email, kind=kind).first()
        if row is None:
            if not wanted:
                continue
            Objection.objects.create(email=email, user=user, kind=kind, active=True, source=source, updated_at=now)
        elif row.active == bool(wanted):
            continue
        else:
            row.active = bool(wanted)
            row.source = source
            row.user = user
            row.updated_at = now
            row.save()
        changed.append(kind)
        audit.record(
            actor=actor,
            action="objection.made" if wanted else "objection.withdrawn",
            target=user,
            details={"kind": kind, "via": source},
        )
    if choices.get(Objection.Kind.MARKETING):
        marketing_unsubscribe_email(email=email, actor=actor, now=now)
    if changed:
        logger.info("objections changed for %s: %s", pii_hash(email), ",".join(changed))
    return changed
