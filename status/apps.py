from anymail.signals import post_send, pre_send
from django.apps import AppConfig

from levqor.lib import attention, banners, signals


class StatusConfig(AppConfig):
    name = "status"
    verbose_name = "Status"

    def ready(self) -> None:
        # They import models, which Django loads only after every app's AppConfig.
        from . import receivers, selectors, services

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
        attention.register(
            "On-call alerts that failed to deliver",
            count=services.delivery_failed_count,
            url_name="admin:status_alertdelivery_changelist",
            query="status__exact=failed",
        )
        attention.register(
            "Status emails to subscribers that failed to send",
            count=services.notification_failed_count,
            url_name="admin:status_notification_changelist",
            query="state=failed",
        )
        pre_send.connect(receivers.email_send_started, dispatch_uid="status.email_send_started")
        post_send.connect(receivers.email_send_finished, dispatch_uid="status.email_send_finished")
        signals.external_contact.connect(receivers.external_contact, dispatch_uid="status.external_contact")
