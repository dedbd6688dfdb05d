"""Ids of the rows `stripe_setup` makes without calling Stripe."""

LOCAL_ENDPOINT_ID = "we_levqor_local"
