"""The one email outbox: every email Levqor sends is a row here, claimed
once per (kind, object, stage), delivered by a django-q2 task after the
sender's transaction commits, retried with back-off, and kept as the
per-message log that staff, DSAR exports and retention read.

Apps call `compliance.outbox.services.email_queue(...)`; kinds whose
content must be decided at delivery time (is the dunning case still
unpaid?) register a `prepare` hook with `compliance.outbox.kinds.register`
from their `AppConfig.ready()`. Why not django-post-office: see
docs/architecture.md, "The email outbox".
"""
