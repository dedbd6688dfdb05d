"""The DFY purchase crosses billing (Checkout, the webhook intake) and
support (the order): billing's localstripe fixtures, reused."""

from billing.tests.conftest import (  # noqa: F401 - fixtures
    deliver,
    localstripe,
    ls,
    stripe_settings,
    webhook_path,
)
