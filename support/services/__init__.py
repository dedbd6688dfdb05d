"""Support writes: tickets (tickets.py), SLA credit requests (filing, more information, measuring,
staff decisions, the Stripe credit), disputes and chargebacks, and the emails
they send. Each service is atomic, audits in its own transaction and queues
its emails in the one outbox (`compliance.outbox`, see `common.py`): once per
(kind, record, stage), sent only after commit, each once."""

from .common import (
    CREDIT_CURRENCIES,
    CREDIT_CURRENCY_ERROR,
    DECISION_STATUSES,
    email_kind,
)
from .credits import (
    CREDIT_MAX_ATTEMPTS,
    credit_error_describe,
    credit_retry_delay,
    sla_credit_apply,
    sla_credit_cancel,
    sla_credit_retry_now,
    sla_credits_retry,
)
from .dfy import (
    STEPS as DFY_STEPS,
)
from .dfy import (
    dfy_order_accept,
    dfy_order_create,
    dfy_order_deliver,
    dfy_order_extend,
    dfy_order_late_notify,
    dfy_order_purchased,
    dfy_order_revision,
    dfy_order_step,
    dfy_orders_auto_accept,
    dfy_orders_late_notify,
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
from .evidence import EVIDENCE_FIELDS, chargeback_evidence_save, chargeback_evidence_submit
from .sla_credits import (
    sla_decision_check,
    sla_request_add_info,
    sla_request_check,
    sla_request_decide,
    sla_request_file,
    sla_request_remeasure,
)
from .tickets import (
    reply_address,
    ticket_check,
    ticket_customer_reply,
    ticket_first_response_due,
    ticket_merge,
    ticket_note,
    ticket_open,
    ticket_reply,
    ticket_update,
)

__all__ = [
    "CREDIT_MAX_ATTEMPTS",
    "CREDIT_CURRENCIES",
    "CREDIT_CURRENCY_ERROR",
    "DECISION_STATUSES",
    "EVENT_RANK",
    "STRIPE_STATUS",
    "chargeback_record",
    "dispute_check",
    "dispute_customer_message",
    "dispute_open",
    "dispute_update",
    "email_kind",
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
    "DFY_STEPS",
    "EVIDENCE_FIELDS",
    "chargeback_evidence_save",
    "chargeback_evidence_submit",
    "dfy_order_accept",
    "dfy_order_create",
    "dfy_order_deliver",
    "dfy_order_extend",
    "dfy_order_revision",
    "dfy_order_step",
    "dfy_orders_auto_accept",
    "dfy_order_late_notify",
    "dfy_order_purchased",
    "dfy_orders_late_notify",
    "reply_address",
    "ticket_check",
    "ticket_customer_reply",
    "ticket_first_response_due",
    "ticket_merge",
    "ticket_note",
    "ticket_open",
    "ticket_reply",
    "ticket_update",
]
