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
        "lookup_key": None,
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


def _retrieve_price(id, **kwargs):  # noqa: A002 - localstripe passes `id`
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


def _not_found_like_stripe() -> None:
    """Stripe's 404 carries `code: resource_missing` (dj-stripe's test for an
    absent object); localstripe's has no code."""
    original = UserError.__init__

    def __init__(self, code, message=None, contents=None):
        if code == 404 and not contents:
            contents = {"code": "resource_missing", "param": "id"}
        original(self, code, message, contents)

    UserError.__init__ = __init__


def patch() -> None:
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
