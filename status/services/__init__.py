"""Status services: every write in the status app goes through one of these.

`stripe_contact_record` is called by status's receiver of the core signal
`levqor.lib.signals.external_contact`, which billing sends after each real
Stripe call: billing never imports status.
"""

from .history import (
    DEFAULT_COMPONENTS,
    bucket_of,
    component_save,
    components_ensure,
    email_contact_record,
    external_contact_record,
    heartbeat_beat,
    history_prune,
    rollup_hours,
    rollup_recent,
    snapshot_take,
    snapshots_prune,
    stripe_contact_record,
)
from .incidents import (
    incident_create,
    incident_edit,
    incident_publish,
    incident_update,
    maintenance_advance,
    maintenance_create,
    maintenance_edit,
    maintenance_set_status,
)
from .oncall import (
    deliveries_retry,
    delivery_failed_count,
    delivery_retry_now,
    delivery_send,
    oncall_check,
    oncall_emails_retry,
    watchdog_run,
)
from .subscribers import (
    emails_sent_to,
    maintenance_notifications_send,
    maintenance_reminders_send,
    notifications_send,
    notifications_sweep,
    subscriber_confirm,
    subscriber_remove,
    subscriber_subscribe,
    subscriber_unsubscribe,
)
from .subscriptions import subscription_components_set
from .webhook_subscribers import (
    webhook_secret_rotate,
    webhook_subscriber_confirm,
    webhook_subscriber_create,
    webhook_subscriber_enable,
    webhook_subscriber_subscribe,
    webhook_subscriber_unsubscribe,
    webhook_subscribers_disabled_count,
)
from .webhooks import component_changes_publish, webhook_deliveries_retry, webhook_events_prune

__all__ = [
    "DEFAULT_COMPONENTS",
    "bucket_of",
    "component_save",
    "components_ensure",
    "email_contact_record",
    "emails_sent_to",
    "external_contact_record",
    "heartbeat_beat",
    "history_prune",
    "incident_create",
    "incident_edit",
    "incident_publish",
    "deliveries_retry",
    "delivery_failed_count",
    "delivery_retry_now",
    "delivery_send",
    "oncall_check",
    "oncall_emails_retry",
    "watchdog_run",
    "maintenance_notifications_send",
    "maintenance_reminders_send",
    "component_changes_publish",
    "subscription_components_set",
    "webhook_deliveries_retry",
    "webhook_events_prune",
    "webhook_secret_rotate",
    "webhook_subscriber_confirm",
    "webhook_subscriber_create",
    "webhook_subscriber_enable",
    "webhook_subscriber_subscribe",
    "webhook_subscriber_unsubscribe",
    "webhook_subscribers_disabled_count",
    "notifications_sweep",
    "incident_update",
    "maintenance_advance",
    "maintenance_create",
    "maintenance_edit",
    "maintenance_set_status",
    "notifications_send",
    "rollup_hours",
    "rollup_recent",
    "snapshot_take",
    "snapshots_prune",
    "stripe_contact_record",
    "subscriber_confirm",
    "subscriber_remove",
    "subscriber_subscribe",
    "subscriber_unsubscribe",
]
