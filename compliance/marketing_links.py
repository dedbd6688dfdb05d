"""Links and headers in marketing email: the signed token that manages a
subscription, its preferences and unsubscribe URLs, and the RFC 2369 /
RFC 8058 one-click headers. Read-only, so the email policy (`mail`,
`policy`) and the marketing services (`marketing`) can both use it."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import MarketingSubscription

_MANAGE_SALT = "compliance.marketing.manage"


def normalise(email: str) -> str:
    return email.strip().lower()


def manage_token(subscription: MarketingSubscription) -> str:
    return signing.dumps(subscription.pk, salt=_MANAGE_SALT)


def subscription_from_manage_token(token: str) -> MarketingSubscription | None:
    try:
        pk = signing.loads(token, salt=_MANAGE_SALT)
    except signing.BadSignature:
        return None
    return MarketingSubscription.objects.filter(pk=pk).first()


def preferences_url(subscription: MarketingSubscription) -> str:
    return settings.LEVQOR_BASE_URL + reverse("compliance:marketing_preferences", args=[manage_token(subscription)])


def unsubscribe_url(subscription: MarketingSubscription) -> str:
    return settings.LEVQOR_BASE_URL + reverse("compliance:marketing_unsubscribe", args=[manage_token(subscription)])


def list_unsubscribe_headers(email: str) -> dict[str, str]:
    """Headers for a marketing email to `email` (RFC 2369 + RFC 8058 one-click)."""
    subscription = MarketingSubscription.objects.filter(email=normalise(email)).first()
    if subscription is None:
        return {}
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(subscription)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def marketing_links(email: str) -> dict[str, str]:
    """Context every marketing email template gets: its unsubscribe and preferences links."""
    subscription = MarketingSubscription.objects.filter(email=normalise(email)).first()
    if subscription is None:
        return {}
    return {"unsubscribe_url": unsubscribe_url(subscription), "preferences_url": preferences_url(subscription)}
