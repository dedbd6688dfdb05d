"""django-q2 entry points for the status app: thin, each safe to run twice."""

from . import services


def heartbeat() -> str:
    """Every minute: prove a worker runs scheduled tasks. One row, overwritten."""
    return services.heartbeat_beat().isoformat()


def snapshot() -> int | None:
    """Every 5 minutes: probe and store one snapshot per component. A second
    run for the same 5-minute bucket does nothing."""
    return services.snapshot_take()


def rollup() -> int:
    """Every 5 minutes: recompute the recent hourly and daily rollups. Idempotent."""
    return services.rollup_recent()


def prune() -> dict:
    """Daily: delete history past its retention. Idempotent."""
    return services.history_prune()


def advance_maintenance() -> tuple[int, int]:
    """Every minute: auto start and complete maintenance windows. Each move is claimed once."""
    return services.maintenance_advance()


def notify_subscribers(update_id: int) -> int:
    """Email one incident update to subscribers; each email claimed once."""
    return services.notifications_send(update_id=update_id)


def send_confirmation(subscriber_id: int) -> bool:
    """Email a subscription confirmation link."""
    return services.confirmation_send(subscriber_id=subscriber_id)


def notify_maintenance(update_id: int) -> int:
    """Email a maintenance notice (announced or started) to subscribers; each email claimed once."""
    return services.maintenance_notifications_send(update_id=update_id)


def watchdog() -> dict:
    """Every minute: alert on-call of components down or stale monitoring
    (once per change), retry failed alert deliveries, and send status emails
    the queue lost. Safe to run twice."""
    result = services.watchdog_run(raised_by="watchdog task")
    result["notifications"] = services.notifications_sweep()
    return result
