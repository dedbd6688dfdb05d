from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from djstripe.enums import APIKeyType, WebhookEndpointStatus
from djstripe.models import Account as StripeAccount
from djstripe.models import APIKey, WebhookEndpoint
from djstripe.models.api import get_api_key_details_by_prefix

from billing.stripe_local import LOCAL_ENDPOINT_ID


class Command(BaseCommand):
    help = (
        "Create (or update) the Stripe webhook endpoint row with STRIPE_WEBHOOK_SECRET, without calling Stripe, "
        "and print its path. --local-account also records the configured secret key against a local stand-in "
        "Stripe account, so dj-stripe never needs GET /v1/account (local and test setups, localstripe). "
        "Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--secret", default="", help="signing secret (default: STRIPE_WEBHOOK_SECRET)")
        parser.add_argument("--url", default="", help="public URL Stripe posts to (informational)")
        parser.add_argument("--local-account", action="store_true")

    @transaction.atomic
    def handle(self, *args, secret, url, local_account, **options):
        secret = secret or settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise CommandError("Set STRIPE_WEBHOOK_SECRET (the endpoint's signing secret, whsec_...) or pass --secret.")
        livemode = bool(settings.STRIPE_LIVE_MODE)
        owner = None
        if local_account:
            owner = self._local_account(livemode)
        endpoint = WebhookEndpoint.objects.filter(id=LOCAL_ENDPOINT_ID).first()
        if endpoint is None:
            endpoint = WebhookEndpoint(id=LOCAL_ENDPOINT_ID, enabled_events=["*"])
        endpoint.secret = secret
        endpoint.livemode = livemode
        endpoint.status = WebhookEndpointStatus.enabled
        endpoint.url = url or endpoint.url or settings.LEVQOR_BASE_URL + "/stripe/webhook/"
        endpoint.api_version = endpoint.api_version or ""
        if owner is not None:
            endpoint.djstripe_owner_account = owner
        endpoint.save()
        path = reverse("billing:stripe_webhook", kwargs={"uuid": endpoint.djstripe_uuid})
        self.stdout.write(path)

    def _local_account(self, livemode: bool):
        key = settings.STRIPE_LIVE_SECRET_KEY if livemode else settings.STRIPE_TEST_SECRET_KEY
        if not key:
            raise CommandError("--local-account needs STRIPE_TEST_SECRET_KEY (or the live key in live mode).")
        try:
            key_type, key_livemode = get_api_key_details_by_prefix(key)
        except Exception as exc:
            raise CommandError(f"The Stripe secret key is not valid for dj-stripe: {exc}") from None
        if key_type != APIKeyType.secret:
            raise CommandError("--local-account needs a secret key (sk_...).")
        account, _ = StripeAccount.objects.get_or_create(id="acct_levqorlocal", defaults={"livemode": key_livemode})
        api_key, _ = APIKey.objects.get_or_create(
            secret=key, defaults={"type": key_type, "livemode": key_livemode, "name": "levqor local"}
        )
        if api_key.djstripe_owner_account_id != account.pk:
            api_key.djstripe_owner_account = account
            api_key.save()
        return account
