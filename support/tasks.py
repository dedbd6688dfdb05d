"""The scheduled django-q2 entry points (`levqor/schedules.py`): thin
wrappers, each named after the service it calls. Work a service queues for
later is that service itself, enqueued by reference with keyword arguments
(`async_task(sla_credit_apply, request_id=...)`), so no service imports this
module and this module imports no one back."""

from . import services


def sla_credits_retry() -> int:
    """Every 5 minutes: attempt the SLA credits whose retry is due (backoff
    after a failure). Safe to run twice and on several workers."""
    return services.sla_credits_retry()


def evidence_reminders_send() -> int:
    """Daily: email support about chargebacks whose evidence is due within 3
    days, once per dispute per day. Safe to run twice."""
    return services.evidence_reminders_send()


def dfy_orders_auto_accept() -> int:
    """Daily: accept delivered DFY builds whose ten-business-day window has ended. Safe to run twice."""
    return services.dfy_orders_auto_accept()


def dfy_orders_late_notify() -> int:
    """Daily: apologise for each overdue DFY build, once per order and due date. Safe to run twice."""
    return services.dfy_orders_late_notify()
