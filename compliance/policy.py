"""The rules every use of a person's data goes through: may we email them
this (`may_send`, applied by the outbox to every message), and may we use
their data for profiling, automation or analytics (`may_process`). Reads
only; the changes (objecting, subscribing) are `objections` and `marketing`.

    policy.may_send(user_or_email, "marketing", topic="offers")  -> bool
    policy.may_process(user_or_email, "analytics")               -> bool
"""

from .marketing_links import normalise
from .models import MarketingSubscription, Objection

OBJECTION_KINDS = tuple(Objection.Kind.values)
# Email purposes: "transactional" mail (sign-in links, receipts, billing and
# security notices, replies to the person's own requests) is always sent;
# "marketing" needs consent and no objection.
EMAIL_PURPOSES = ("transactional", "marketing")
# Processing purposes a person can object to.
PROCESSING_PURPOSES = ("profiling", "automation", "analytics")


def email_of(user_or_email) -> str:
    if isinstance(user_or_email, str):
        return normalise(user_or_email)
    return normalise(getattr(user_or_email, "email", "") or "")


def objected(user_or_email, kind: str) -> bool:
    """Whether an objection of this kind is in force for this person."""
    if kind not in OBJECTION_KINDS:
        raise ValueError(f"Unknown objection kind {kind!r}; use one of {', '.join(OBJECTION_KINDS)}.")
    email = email_of(user_or_email)
    return bool(email) and Objection.objects.filter(email=email, kind=kind, active=True).exists()


def marketing_may_receive(*, email: str, topic: str | None = None) -> bool:
    """Consent half of the marketing rule: a confirmed subscription (with the
    topic ticked, if one is named). The objection half is `objected`."""
    subscription = MarketingSubscription.objects.filter(
        email=normalise(email), status=MarketingSubscription.Status.CONFIRMED
    ).first()
    if subscription is None:
        return False
    return topic is None or bool(getattr(subscription, topic, False))


def may_send(user_or_email, purpose: str, *, topic: str | None = None) -> bool:
    """May an email of this purpose go to this person? The single rule every
    email goes through (the outbox applies it at delivery)."""
    if purpose not in EMAIL_PURPOSES:
        raise ValueError(f"Unknown email purpose {purpose!r}; use one of {', '.join(EMAIL_PURPOSES)}.")
    if purpose == "transactional":
        return True
    email = email_of(user_or_email)
    if objected(email, Objection.Kind.MARKETING):
        return False
    return marketing_may_receive(email=email, topic=topic)


def may_process(user_or_email, purpose: str) -> bool:
    """May we use this person's data for `purpose` (profiling, automation,
    analytics)? False once they object. Cheap: one indexed query."""
    if purpose not in PROCESSING_PURPOSES:
        raise ValueError(f"Unknown processing purpose {purpose!r}; use one of {', '.join(PROCESSING_PURPOSES)}.")
    return not objected(user_or_email, purpose)
