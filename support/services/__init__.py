"""Support writes: SLA credit requests (filing, more information, measuring,
staff decisions, the Stripe credit), disputes and chargebacks, and the emails
they send. Each service is atomic, audits in its own transaction and queues
email only after commit, through the `SupportEmail` outbox (one row per
email, claimed before sending, so each goes out once)."""

from .credits import (
    CREDIT_MAX_ATTEMPTS,
    credit_error_describe,
    credit_retry_delay,
    sla_credit_apply,
    sla_credit_cancel,
    sla_credit_retry_now,
    sla_credits_retry,
)
from .disputes import (
    EVENT_RANK,
    STRIPE_STATUS,
    chargeback_record,
    dispute_check,
    dispute_customer_message,
    dispute_open,
    dispute_update,
    evidence_reminders_send,
)
from .outbox import (
    CREDIT_CURRENCIES,
    CREDIT_CURRENCY_ERROR,
    DECISION_STATUSES,
    EMAIL_MAX_ATTEMPTS,
    email_deliver,
    emails_sweep,
)
from .sla_credits import (
    sla_decision_check,
    sla_request_add_info,
    sla_request_check,
    sla_request_decide,
    sla_request_file,
    sla_request_remeasure,
)

__all__ = [
    "CREDIT_MAX_ATTEMPTS",
    "CREDIT_CURRENCIES",
    "CREDIT_CURRENCY_ERROR",
    "DECISION_STATUSES",
    "EMAIL_MAX_ATTEMPTS",
    "EVENT_RANK",
    "STRIPE_STATUS",
    "chargeback_record",
    "dispute_check",
    "dispute_customer_message",
    "dispute_open",
    "dispute_update",
    "email_deliver",
    "emails_sweep",
    "evidence_reminders_send",
    "credit_error_describe",
    "credit_retry_delay",
    "sla_credit_apply",
    "sla_credit_cancel",
    "sla_credit_retry_now",
    "sla_credits_retry",
    "sla_decision_check",
    "sla_request_add_info",
    "sla_request_check",
    "sla_request_decide",
    "sla_request_file",
    "sla_request_remeasure",
]
