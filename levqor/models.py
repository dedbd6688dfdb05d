"""The levqor app has no tables of its own any more: failed emails, once
logged here, are rows of the one outbox (compliance.OutboundEmail)."""
