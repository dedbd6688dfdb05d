from django.apps import AppConfig


class StatusConfig(AppConfig):
    name = "status"
    verbose_name = "Status"

    def ready(self) -> None:
        from anymail.signals import post_send, pre_send

        from levqor.lib import attention, banners, signals

        from . import receivers, selectors

        banners.register("status", receivers.status_banners)
        attention.register(
            "Unresolved incidents",
            count=selectors.incident_unresolved_count,
            url_name="admin:status_incident_changelist",
            query="state=unresolved",
        )
        pre_send.connect(receivers.email_send_started, dispatch_uid="status.email_send_started")
        post_send.connect(receivers.email_send_finished, dispatch_uid="status.email_send_finished")
        signals.external_contact.connect(receivers.external_contact, dispatch_uid="status.external_contact")
