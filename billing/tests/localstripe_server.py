"""Run localstripe (the fake Stripe server from PyPI) patched for dj-stripe 2.11.

    python billing/tests/localstripe_server.py --port 8420 --state /private/dir/state.pickle

Test support code, started by the `localstripe` session fixture. localstripe
speaks the 2017 API shape and lacks fields dj-stripe's sync needs; each patch
below supplies one of them. Its state file
lives at a fixed /tmp path by default: it is moved to --state, so parallel
sessions never share state.
"""

import argparse
import pickle
import socket
import sys
import time

from localstripe import resources
from localstripe.errors import UserError

STATE_PATH = None


def _load(self):
    try:
        with open(STATE_PATH, "rb") as f:
            self.clear()
            self.update(pickle.load(f))  # noqa: S301 - our own private state file
    except FileNotFoundError:
        pass


def _dump(self):
    with open(STATE_PATH, "wb") as f:
        pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)


def price_from_plan(plan) -> dict:
    """dj-stripe 2.11 syncs Prices; localstripe only has Plans."""
    return {
        "id": plan.id,
        "object": "price",
        "active": bool(getattr(plan, "active", True)),
        "billing_scheme": "per_unit",
        "created": plan.created,
        "currency": plan.currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": (getattr(plan, "metadata", None) or {}).get("lookup_key"),
        "metadata": getattr(plan, "metadata", None) or {},
        "nickname": getattr(plan, "nickname", None),
        "product": plan.product,
        "recurring": {
            "aggregate_usage": None,
            "interval": plan.interval,
            "interval_count": plan.interval_count,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        },
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": plan.amount,
        "unit_amount_decimal": str(plan.amount),
    }


class _Exported:
    def __init__(self, data):
        self._data = data

    def _export(self, expand=None):
        return self._data


ONE_OFF = "levqor_one_off_price:"  # one-off prices (no Plan in localstripe), kept in its store


def _retrieve_price(id, **kwargs):  # noqa: A002 - localstripe passes `id`
    if ONE_OFF + id in resources.store:
        return _Exported(resources.store[ONE_OFF + id])
    return _Exported(price_from_plan(resources.Plan._api_retrieve(id)))


def _product_features(id, **kwargs):  # noqa: A002 - localstripe passes `id`
    resources.Product._api_retrieve(id)
    return _Exported({"object": "list", "data": [], "has_more": False, "url": f"/v1/products/{id}/features"})


def _patch_export(cls, extra):
    original = cls._export

    def _export(self, expand=None):
        data = original(self, expand=expand)
        extra(self, data)
        return data

    cls._export = _export


def _empty_list(self):
    return []


def _none(self):
    return None


def _price(self):
    plan = getattr(self, "plan", None)
    return price_from_plan(plan) if plan is not None else None


def _item_period(self):
    if self._subscription:
        return self._current_period()
    return {"start": self.created, "end": self.created}


def _tax_rates_fix(self, data):
    # localstripe says null where dj-stripe expects a list.
    if data.get("default_tax_rates") is None:
        data["default_tax_rates"] = []


def _trial_fix(self, data):
    # localstripe records trial_period_days but neither starts the trial nor
    # says when it ends; Stripe does both (status `trialing`, `trial_end`).
    days = data.get("trial_period_days")
    if days and not data.get("trial_end"):
        data["trial_start"] = data["created"]
        data["trial_end"] = data["created"] + int(days) * 86400
        if data.get("status") == "incomplete":
            data["status"] = "trialing"


def _not_found_like_stripe() -> None:
    """Stripe's 404 carries `code: resource_missing` (dj-stripe's test for an
    absent object); localstripe's has no code."""
    original = UserError.__init__

    def __init__(self, code, message=None, contents=None):
        if code == 404 and not contents:
            contents = {"code": "resource_missing", "param": "id"}
        original(self, code, message, contents)

    UserError.__init__ = __init__


# --- Prices, Checkout and the Billing Portal, which localstripe lacks ---------------
# Prices are Plans with the lookup key in their metadata; sessions are kept in
# memory, with the parameters they were created with, for the tests to assert.

SESSIONS: dict[str, dict] = {}
_session_numbers = iter(range(1, 10**9))


def _one_off_price(lookup_key, unit_amount, currency, product, nickname) -> dict:
    """A one-off price (a DFY build): Stripe's shape, `recurring` null, `type` one_time."""
    price_id = f"price_{lookup_key}" if lookup_key else f"price_oneoff{next(_session_numbers):06d}"
    resources.Product._api_retrieve(product)
    price = {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": int(time.time()),
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": {"lookup_key": lookup_key} if lookup_key else {},
        "nickname": nickname,
        "product": product,
        "recurring": None,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": int(unit_amount),
        "unit_amount_decimal": str(unit_amount),
    }
    resources.store[ONE_OFF + price_id] = price
    return price


def _create_price(lookup_key=None, unit_amount=None, currency=None, recurring=None, product=None, **kwargs):
    if not recurring:
        return _Exported(_one_off_price(lookup_key, unit_amount, currency, product, kwargs.get("nickname")))
    interval = (recurring or {}).get("interval")
    plan = resources.Plan._api_create(
        id=f"price_{lookup_key}" if lookup_key else None,
        amount=int(unit_amount),
        currency=currency,
        interval=interval,
        product=product,
        metadata={"lookup_key": lookup_key} if lookup_key else None,
        nickname=kwargs.get("nickname"),
    )
    return _Exported(price_from_plan(plan))


def _list_prices(lookup_keys=None, **kwargs):
    keys = set(lookup_keys or [])
    plans = [obj for key, obj in resources.store.items() if key.startswith("plan:")]
    data = [price_from_plan(plan) for plan in plans if not keys or (plan.metadata or {}).get("lookup_key") in keys]
    one_off = [obj for key, obj in resources.store.items() if key.startswith(ONE_OFF)]
    data += [price for price in one_off if not keys or price["lookup_key"] in keys]
    return _Exported({"object": "list", "data": data, "has_more": False, "url": "/v1/prices"})


def _create_checkout_session(**params):
    number = next(_session_numbers)
    session_id = f"cs_test_levqor{number:06d}"
    session = {
        "id": session_id,
        "object": "checkout.session",
        "mode": params.get("mode"),
        "status": "open",
        "payment_status": "unpaid",
        "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        "customer": params.get("customer"),
        "customer_email": params.get("customer_email"),
        "customer_details": None,
        "client_reference_id": params.get("client_reference_id"),
        "metadata": params.get("metadata") or {},
        "subscription": None,
        "payment_intent": None,
        "amount_total": None,
        "amount_subtotal": None,
        "success_url": params.get("success_url"),
        "cancel_url": params.get("cancel_url"),
        "livemode": False,
        "created": int(time.time()),
        "expires_at": int(time.time()) + 86400,
        "currency": "gbp",
        "payment_method_collection": params.get("payment_method_collection"),
        "_params": params,
    }
    SESSIONS[session_id] = session
    return _Exported({k: v for k, v in session.items() if k != "_params"})


def _retrieve_checkout_session(id, **kwargs):  # noqa: A002 - localstripe passes `id`
    if id not in SESSIONS:
        raise UserError(404, f"No such checkout.session: {id}")
    return _Exported({k: v for k, v in SESSIONS[id].items() if k != "_params"})


def _checkout_session_params(id, **kwargs):  # noqa: A002
    """Test hook: the parameters the session was created with."""
    return _Exported(SESSIONS[id]["_params"])


def _complete_checkout_session(
    id,  # noqa: A002
    customer=None,
    subscription=None,
    email=None,
    name=None,
    payment_intent=None,
    **kwargs,
):
    """Test hook: what Stripe does when the customer pays (the test creates
    the customer and subscription, or the succeeded PaymentIntent of a
    payment-mode session, in localstripe first)."""
    session = SESSIONS[id]
    session.update(
        status="complete",
        payment_status="no_payment_required",
        customer=customer,
        subscription=subscription,
        customer_details={"email": email, "name": name, "address": None, "phone": None, "tax_exempt": "none"},
    )
    if payment_intent:
        intent = resources.PaymentIntent._api_retrieve(payment_intent)
        paid = intent.status == "succeeded"
        session.update(
            payment_intent=payment_intent,
            payment_status="paid" if paid else "unpaid",
            amount_total=intent.amount,
            amount_subtotal=intent.amount,
            currency=intent.currency,
        )
    return _retrieve_checkout_session(id)


PORTAL_SESSIONS: dict[str, dict] = {}


def _create_portal_session(customer=None, return_url=None, **kwargs):
    resources.Customer._api_retrieve(customer)
    number = next(_session_numbers)
    session = {
        "id": f"bps_levqor{number:06d}",
        "object": "billing_portal.session",
        "customer": customer,
        "return_url": return_url,
        "url": f"https://billing.stripe.com/p/session/test_levqor{number:06d}",
        "livemode": False,
        "created": int(time.time()),
    }
    PORTAL_SESSIONS[session["id"]] = session
    return _Exported(session)


def _portal_session(id, **kwargs):  # noqa: A002 - test hook: a portal session as created
    return _Exported(PORTAL_SESSIONS[id])


def patch() -> None:
    resources.extra_apis.append(("GET", "/_levqor/billing_portal/sessions/{id}", _portal_session))
    resources.extra_apis.append(("POST", "/v1/prices", _create_price))
    resources.extra_apis.append(("GET", "/v1/prices", _list_prices))
    resources.extra_apis.append(("POST", "/v1/checkout/sessions", _create_checkout_session))
    resources.extra_apis.append(("GET", "/v1/checkout/sessions/{id}", _retrieve_checkout_session))
    resources.extra_apis.append(("GET", "/_levqor/checkout/sessions/{id}/params", _checkout_session_params))
    resources.extra_apis.append(("POST", "/_levqor/checkout/sessions/{id}/complete", _complete_checkout_session))
    resources.extra_apis.append(("POST", "/v1/billing_portal/sessions", _create_portal_session))
    _not_found_like_stripe()
    resources.Store.try_load_from_disk = _load
    resources.Store.dump_to_disk = _dump
    resources.extra_apis.append(("GET", "/v1/prices/{id}", _retrieve_price))
    resources.extra_apis.append(("GET", "/v1/products/{id}/features", _product_features))
    # Class properties, not post-export edits: dj-stripe asks to expand some
    # of them (`discounts`), and localstripe expands before returning.
    for cls in (resources.Invoice, resources.InvoiceLineItem, resources.SubscriptionItem, resources.Subscription):
        cls.discounts = property(_empty_list)
    resources.InvoiceLineItem.discount_amounts = property(_empty_list)
    resources.InvoiceLineItem.price = property(_price)
    resources.SubscriptionItem.price = property(_price)
    resources.SubscriptionItem.subscription = property(lambda self: self._subscription)
    resources.SubscriptionItem.current_period_start = property(lambda self: _item_period(self)["start"])
    resources.SubscriptionItem.current_period_end = property(lambda self: _item_period(self)["end"])
    resources.Invoice.footer = property(_none)
    resources.Invoice.total_discount_amounts = property(_empty_list)
    resources.Invoice.hosted_invoice_url = property(lambda self: f"https://invoice.stripe.com/i/localstripe/{self.id}")
    resources.Invoice.invoice_pdf = property(lambda self: f"https://pay.stripe.com/invoice/localstripe/{self.id}/pdf")
    resources.Invoice.paid = property(lambda self: self.status == "paid")
    _patch_export(resources.Invoice, _tax_rates_fix)
    _patch_export(resources.Subscription, _tax_rates_fix)
    _patch_export(resources.Subscription, _trial_fix)


def main() -> None:
    global STATE_PATH
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", required=True)
    args = parser.parse_args()
    STATE_PATH = args.state
    patch()
    from aiohttp import web
    from localstripe import server

    resources.store.try_load_from_disk()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    web.run_app(server.app, sock=sock, print=lambda *a: None, access_log=None)


if __name__ == "__main__":
    try:
        main()
    except UserError as exc:  # pragma: no cover - start-up failure
        sys.exit(str(exc))
