"""Status services: every write in the status app goes through one of these.

`stripe_contact_record` is called by status's receiver of the core signal
`levqor.lib.signals.external_contact`, which billing sends after each real
Stripe call: billing never imports status.
"""

from .api_keys import IssuedStatusKey, status_api_key_create, status_api_key_revoke, status_api_key_touch
from .components import component_describe, component_status_set, component_update
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
    incident_delete,
    incident_edit,
    incident_publish,
    incident_update,
    maintenance_advance,
    maintenance_create,
    maintenance_delete,
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
    notifications_send,
    notifications_sweep,
    subscriber_confirm,
    subscriber_remove,
    subscriber_subscribe,
    subscriber_unsubscribe,
)

__all__ = [
    "IssuedStatusKey",
    "component_describe",
    "component_status_set",
    "component_update",
    "incident_delete",
    "maintenance_delete",
    "status_api_key_create",
    "status_api_key_revoke",
    "status_api_key_touch",
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
