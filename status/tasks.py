"""The scheduled django-q2 entry points of the status app (`levqor/schedules.py`):
thin, each safe to run twice. Emails are queued as the services themselves, by
reference (`async_task(notifications_send, update_id=...)`, which queues one
outbox email per subscriber), so no service imports this module."""

from . import services


def heartbeat_beat() -> str:
    """Every minute: prove a worker runs scheduled tasks. One row, overwritten."""
    return services.heartbeat_beat().isoformat()


def snapshot_take() -> int | None:
    """Every 5 minutes: probe and store one snapshot per component (a second
    run for the same 5-minute bucket does nothing), then tell webhook
    subscribers of each component whose status changed (once per change)."""
    taken = services.snapshot_take()
    services.component_changes_publish()
    return taken


def rollup_recent() -> int:
    """Every 5 minutes: recompute the recent hourly and daily rollups. Idempotent."""
    return services.rollup_recent()


def history_prune() -> dict:
    """Daily: delete history past its retention (and webhook events sent
    long ago). Idempotent."""
    deleted = services.history_prune()
    deleted["webhook_events"] = services.webhook_events_prune()
    return deleted


def maintenance_advance() -> tuple[int, int]:
    """Every minute: auto start and complete maintenance windows. Each move is claimed once."""
    return services.maintenance_advance()


def watchdog_run() -> dict:
    """Every minute: alert on-call of components down or stale monitoring
    (once per change), retry failed on-call deliveries, and queue subscriber
    emails a lost fan-out did not (the outbox sends and retries them). Safe
    to run twice."""
    result = services.watchdog_run(raised_by="watchdog task")
    result["notifications"] = services.notifications_sweep()
    return result


def maintenance_reminders_send() -> int:
    """Every minute: remind subscribers (email and webhooks) of maintenance
    starting within the hour, once per maintenance and subscriber."""
    return services.maintenance_reminders_send()


def webhook_deliveries_retry() -> int:
    """Every minute: POST status webhook deliveries that are due (retries
    after backoff, ones a lost task never sent). Each is claimed once."""
    return services.webhook_deliveries_retry()
