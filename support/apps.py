from django.apps import AppConfig

from levqor.lib import attention, backlogs


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support"

    def ready(self) -> None:
        # They import models, which Django loads only after every app's AppConfig.
        from billing import purchases

        from . import inbound, selectors, services, webhooks  # noqa: F401 - connects the dj-stripe and anymail receivers

        # A DFY tier bought through Stripe Checkout becomes an order (billing calls this from its webhook intake).
        purchases.register("dfy", services.dfy_order_purchased)

        backlogs.register(
            "tickets_near_breach",
            count=selectors.tickets_near_breach_count,
            description="Tickets whose first response is due within the hour.",
        )
        backlogs.register(
            "chargebacks_evidence_due",
            count=selectors.chargeback_evidence_due_count,
            description="Chargebacks whose evidence is due within 3 days.",
        )
        backlogs.register(
            "disputes_open", count=selectors.dispute_open_count, description="Disputes open or in review."
        )
        backlogs.register(
            "sla_credits_pending",
            count=selectors.sla_request_pending_count,
            description="SLA credit requests awaiting a decision.",
        )

        attention.register_dashboard(
            "Tickets: first response by plan, per month",
            url_name="admin:support_ticket_report",
            description="Tickets, median first response and the share answered within each plan's SLA.",
        )
        attention.register_dashboard(
            "Chargebacks won and lost, per month",
            url_name="admin:support_dispute_outcomes",
            description="Outcomes of Stripe disputes as recorded from charge.dispute.closed.",
        )
        attention.register(
            "Tickets: first response due within 1 hour",
            count=selectors.tickets_near_breach_count,
            url_name="admin:support_ticket_changelist",
            query="sla=due1h",
        )
        attention.register(
            "Tickets: first response breached",
            count=selectors.tickets_breached_count,
            url_name="admin:support_ticket_changelist",
            query="sla=breached",
        )
        attention.register(
            "DFY orders due within 3 business days",
            count=selectors.dfy_orders_due_soon_count,
            url_name="admin:support_dfyorder_changelist",
            query="due=soon",
        )
        attention.register(
            "DFY orders overdue (customer may cancel for a full refund)",
            count=selectors.dfy_orders_overdue_count,
            url_name="admin:support_dfyorder_changelist",
            query="due=overdue",
        )
        attention.register(
            "SLA credit requests awaiting a decision",
            count=selectors.sla_request_pending_count,
            url_name="admin:support_slacreditrequest_changelist",
        )
        attention.register(
            "SLA credits that failed in Stripe (awaiting retry or exhausted)",
            count=selectors.sla_credit_failed_count,
            url_name="admin:support_slacreditrequest_changelist",
            query="status=all&credit=failed",
        )
        attention.register(
            "Disputes open or in review",
            count=selectors.dispute_open_count,
            url_name="admin:support_dispute_changelist",
        )
        attention.register(
            "Chargebacks with evidence due within 3 days",
            count=selectors.chargeback_evidence_due_count,
            url_name="admin:support_dispute_changelist",
            query="evidence=due3",
        )
