"""The locked catalogue (`levqor.plans`) as Stripe Prices.

Each plan and interval is one recurring Stripe Price found by its lookup key
(`levqor_<plan>_<interval>`), and each done-for-you tier one one-off Price
(`levqor_dfy_<tier>`), so no price id or amount is ever typed into
settings: `manage.py stripe_prices` creates what is missing (and refuses a
price whose amount, currency or interval no longer matches the catalogue),
and Checkout finds the price by the same key.
https://docs.stripe.com/products-prices/manage-prices#lookup-keys
"""

import time
from dataclasses import dataclass

import stripe
from django.conf import settings
from django.core.cache import cache
from djstripe.settings import djstripe_settings

from levqor import plans
from levqor.lib.signals import external_contact_report

INTERVALS = {"monthly": "month", "yearly": "year"}
CACHE_SECONDS = 3600


class CatalogueError(Exception):
    """A price is missing in Stripe or differs from the catalogue; safe to show staff."""


@dataclass(frozen=True)
class Offer:
    plan: plans.Plan
    interval: str  # "monthly" | "yearly"

    @property
    def lookup_key(self) -> str:
        return f"levqor_{self.plan.code}_{self.interval}"

    @property
    def amount_minor(self) -> int:
        pounds = self.plan.monthly if self.interval == "monthly" else self.plan.yearly
        return pounds * 100


@dataclass(frozen=True)
class DfyOffer:
    """A done-for-you build: one-off, paid up front (contract clause 6.1)."""

    tier: plans.DfyTier
    interval = None  # one-off: no recurring interval

    @property
    def lookup_key(self) -> str:
        return f"levqor_dfy_{self.tier.code}"

    @property
    def amount_minor(self) -> int:
        return self.tier.price * 100

    @property
    def product_id(self) -> str:
        return f"levqor_dfy_{self.tier.code}"

    @property
    def product_name(self) -> str:
        return f"Levqor done-for-you build: {self.tier.name}"


def dfy_offer(tier_code: str) -> DfyOffer:
    """The DFY catalogue's offer; ValueError for an unknown tier."""
    for tier in plans.DFY_TIERS:
        if tier.code == tier_code:
            return DfyOffer(tier)
    raise ValueError(f"Unknown DFY tier {tier_code!r}.")


def dfy_offers() -> list[DfyOffer]:
    return [DfyOffer(tier) for tier in plans.DFY_TIERS]


def offer(plan_code: str, interval: str) -> Offer:
    """The catalogue's offer; ValueError for an unknown plan or interval."""
    if interval not in INTERVALS:
        raise ValueError(f"Unknown interval {interval!r}.")
    return Offer(plans.plan_by_code(plan_code), interval)


def offers() -> list[Offer]:
    return [Offer(plan, interval) for plan in plans.PLANS for interval in INTERVALS]


def offer_for_lookup_key(key: str) -> Offer | None:
    return next((item for item in offers() if item.lookup_key == key), None)


def api_key() -> str:
    return djstripe_settings.get_default_api_key(settings.STRIPE_LIVE_MODE)


def contact(started: float, exc: Exception | None) -> None:
    """Report a Stripe API call to the status page (billing never imports status)."""
    unreachable = isinstance(exc, stripe.APIConnectionError | stripe.APIError)
    external_contact_report(
        sender=__name__,
        name="stripe",
        ok=not unreachable,
        latency_ms=round((time.perf_counter() - started) * 1000),
        error=type(exc).__name__ if unreachable else "",
    )


def _mismatch(item: Offer | DfyOffer, price) -> str:
    recurring = price.get("recurring") or {}
    expected = INTERVALS[item.interval] if item.interval else None
    if (
        price.get("unit_amount") != item.amount_minor
        or str(price.get("currency", "")).upper() != plans.CURRENCY
        or recurring.get("interval") != expected
    ):
        return (
            f"Stripe price {price['id']} ({item.lookup_key}) is {price.get('unit_amount')} {price.get('currency')} "
            f"per {recurring.get('interval') or 'purchase'}; the catalogue says {item.amount_minor} "
            f"{plans.CURRENCY.lower()} per {expected or 'purchase'}."
        )
    return ""


def _find(item: Offer | DfyOffer):
    found = stripe.Price.list(lookup_keys=[item.lookup_key], active=True, limit=1, api_key=api_key())
    return found["data"][0] if found["data"] else None


def price_id(item: Offer | DfyOffer) -> str:
    """The Stripe price id of an offer (cached an hour). Raises CatalogueError
    when it is missing or differs from the catalogue; Stripe errors pass."""
    key = f"billing:price:{item.lookup_key}"
    cached = cache.get(key)
    if cached:
        return cached
    started = time.perf_counter()
    try:
        price = _find(item)
    except Exception as exc:
        contact(started, exc)
        raise
    contact(started, None)
    if price is None:
        raise CatalogueError(f"No Stripe price has lookup key {item.lookup_key}: run manage.py stripe_prices.")
    problem = _mismatch(item, price)
    if problem:
        raise CatalogueError(problem)
    cache.set(key, price["id"], CACHE_SECONDS)
    return price["id"]


def prices_ensure(*, dry_run: bool = False) -> list[tuple[str, str, str]]:
    """Find or create a Stripe product per plan and DFY tier and a price per
    offer (recurring for plans, one-off for DFY builds). Returns (lookup key,
    price id, "found" | "created" | "missing"). Raises CatalogueError if a
    found price differs from the catalogue. Idempotent: the lookup key is the identity."""
    results = []
    key = api_key()
    for item in [*offers(), *dfy_offers()]:
        price = _find(item)
        if price is not None:
            problem = _mismatch(item, price)
            if problem:
                raise CatalogueError(problem)
            results.append((item.lookup_key, price["id"], "found"))
            continue
        if dry_run:
            results.append((item.lookup_key, "", "missing"))
            continue
        if isinstance(item, DfyOffer):
            product_id, product_name, nickname = item.product_id, item.product_name, f"DFY {item.tier.name}"
            recurring = {}
        else:
            product_id, product_name = f"levqor_{item.plan.code}", f"Levqor {item.plan.name}"
            nickname = f"{item.plan.name} {item.interval}"
            recurring = {"recurring": {"interval": INTERVALS[item.interval]}}
        try:
            stripe.Product.retrieve(product_id, api_key=key)
        except stripe.InvalidRequestError:
            stripe.Product.create(id=product_id, name=product_name, type="service", api_key=key)
        price = stripe.Price.create(
            product=product_id,
            unit_amount=item.amount_minor,
            currency=plans.CURRENCY.lower(),
            lookup_key=item.lookup_key,
            nickname=nickname,
            api_key=key,
            idempotency_key=f"levqor-price-{item.lookup_key}-{item.amount_minor}",
            **recurring,
        )
        cache.delete(f"billing:price:{item.lookup_key}")
        results.append((item.lookup_key, price["id"], "created"))
    return results
