from anymail.signals import post_send, pre_send
from django.apps import AppConfig

from compliance.outbox import kinds
from levqor.lib import attention, banners, signals


class StatusConfig(AppConfig):
    name = "status"
    verbose_name = "Status"

    def ready(self) -> None:
        # They import models, which Django loads only after every app's AppConfig.
        from . import receivers, selectors, services
        from .services import oncall, subscribers, webhook_subscribers

        # Status's emails go through the one outbox; these hooks fill in the
        # live objects at delivery and drop what no longer holds.
        kinds.register(subscribers.INCIDENT_KIND, prepare=subscribers.incident_notice_prepare)
        kinds.register(subscribers.MAINTENANCE_KIND, prepare=subscribers.maintenance_notice_prepare)
        kinds.register(subscribers.REMINDER_KIND, prepare=subscribers.maintenance_reminder_prepare)
        kinds.register(subscribers.CONFIRM_KIND, prepare=subscribers.confirmation_prepare)
        kinds.register(webhook_subscribers.CONFIRM_KIND, prepare=webhook_subscribers.confirmation_prepare)
        kinds.register(webhook_subscribers.DISABLED_KIND, prepare=webhook_subscribers.disabled_prepare)
        kinds.register(oncall.EMAIL_KIND, prepare=oncall.oncall_email_prepare)
        banners.register("status", receivers.status_banners)
        attention.register(
            "Unresolved incidents",
            count=selectors.incident_unresolved_count,
            url_name="admin:status_incident_changelist",
            query="state=unresolved",
        )
        attention.register(
            "Draft incidents from on-call alerts (publish or discard)",
            count=selectors.incident_draft_count,
            url_name="admin:status_incident_changelist",
            query="state=draft",
        )
        attention.register(
            "Monitoring gone stale (components not checked for 10+ minutes)",
            count=selectors.components_stale_count,
            url_name="admin:status_component_changelist",
            query="monitoring=stale",
        )
        # On-call (and subscriber) emails that fail are in the outbox's queue.
        attention.register(
            "On-call webhook alerts that failed to deliver",
            count=services.delivery_failed_count,
            url_name="admin:status_alertdelivery_changelist",
            query="status__exact=failed",
        )
        attention.register(
            "Status webhook subscribers disabled after repeated failures",
            count=services.webhook_subscribers_disabled_count,
            url_name="admin:status_webhooksubscriber_changelist",
            query="state=disabled",
        )
        pre_send.connect(receivers.email_send_started, dispatch_uid="status.email_send_started")
        post_send.connect(receivers.email_send_finished, dispatch_uid="status.email_send_finished")
        signals.external_contact.connect(receivers.external_contact, dispatch_uid="status.external_contact")
