"""What email and webhook subscriptions share: the signed links in every
message (manage, unsubscribe, confirm), who wants news about which
components (none chosen = all), and changing that choice."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from compliance import audit

from ..models import Component, Subscriber, WebhookSubscriber

MANAGE_SALT = "status.subscription.manage"
UNSUBSCRIBE_SALT = "status.subscriber.unsubscribe"  # noqa: S105 - a signing salt, not a secret
WEBHOOK_UNSUBSCRIBE_SALT = "status.webhook.unsubscribe"  # noqa: S105 - a signing salt, not a secret
WEBHOOK_CONFIRM_SALT = "status.webhook.confirm"
CONFIRM_MAX_AGE = timedelta(days=7)

EMAIL, WEBHOOK = "e", "w"
_MODELS = {EMAIL: Subscriber, WEBHOOK: WebhookSubscriber}


def url(name: str, *args) -> str:
    return settings.LEVQOR_BASE_URL + reverse(name, args=args)


def _kind(subscriber) -> str:
    return WEBHOOK if isinstance(subscriber, WebhookSubscriber) else EMAIL


def token(subscriber, *, salt: str) -> str:
    data = {"s": subscriber.pk, "e": subscriber.email}
    if isinstance(subscriber, WebhookSubscriber):
        data["k"] = WEBHOOK
    return signing.dumps(data, salt=salt)


def from_token(value: str, *, salt: str, max_age: timedelta | None = None):
    """The subscriber (email or webhook) a signed link names, or None."""
    try:
        data = signing.loads(value, salt=salt, max_age=max_age)
    except signing.BadSignature:
        return None
    model = _MODELS.get(data.get("k", EMAIL)) if isinstance(data, dict) else None
    if model is None:
        return None
    return model.objects.filter(pk=data.get("s"), email=data.get("e")).first()


def manage_url(subscriber) -> str:
    """The "manage your subscription" page (components, unsubscribe), in every message."""
    return url("status:manage", token(subscriber, salt=MANAGE_SALT))


def unsubscribe_url(subscriber) -> str:
    if isinstance(subscriber, WebhookSubscriber):
        return url("status:webhook_unsubscribe", token(subscriber, salt=WEBHOOK_UNSUBSCRIBE_SALT))
    return url("status:unsubscribe", token(subscriber, salt=UNSUBSCRIBE_SALT))


def choosable_components():
    """What a subscriber can choose: the components shown on /status."""
    return Component.objects.filter(is_group=False, hidden=False).order_by("position", "name")


def wants(model, component_ids) -> Q:
    """Subscribers of `model` who hear about news touching `component_ids`:
    those who chose none (all), and those who chose one of them. News naming
    no component goes to everyone."""
    if not component_ids:
        return Q()
    chosen = model.components.through.objects.filter(**{model._meta.model_name: OuterRef("pk")})
    return ~Exists(chosen) | Exists(chosen.filter(component_id__in=list(component_ids)))


@transaction.atomic
def subscription_components_set(*, subscriber, components, actor=None) -> None:
    """Choose the components a subscriber hears about (empty: all). Audited."""
    components = list(components)
    subscriber.components.set(components)
    audit.record(
        actor=actor,
        action="status.subscriber.components" if _kind(subscriber) == EMAIL else "status.webhook.components",
        target=subscriber,
        details={"components": sorted(c.slug for c in components) or "all"},
    )
