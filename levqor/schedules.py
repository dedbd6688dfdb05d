"""Every scheduled job, in one list: top-level wiring, so it may name every
app's tasks. `manage.py sync_schedules` makes django-q2 match it (the
mechanism is levqor.lib.schedules).

Cron strings are evaluated by croniter in the server's TIME_ZONE
(https://github.com/pallets-eco/croniter#usage).
"""

from levqor.lib.schedules import Job

JOBS: tuple[Job, ...] = (
    Job(
        name="levqor:compliance.verify_audit_chain",
        func="compliance.tasks.audit_verify",
        cron="17 3 * * *",
        description="Verify the audit trail's hash chain daily; fails loudly if broken.",
    ),
    Job(
        name="levqor:compliance.apply_retention",
        func="compliance.dsar.tasks.retention_apply",
        cron="37 3 * * *",
        description="Daily: apply the retention policy (LEVQOR_RETENTION_DAYS) to every data kind.",
    ),
    Job(
        name="levqor:compliance.dsar_sweep",
        func="compliance.dsar.tasks.exports_sweep",
        cron="*/15 * * * *",
        description="Every 15 minutes: re-queue data exports whose build the queue lost.",
    ),
    Job(
        name="levqor:compliance.erasures_retry",
        func="compliance.dsar.tasks.erasures_retry",
        cron="41 * * * *",
        description="Hourly: retry erasures that failed at an outside processor (Stripe), a few times.",
    ),
    Job(
        name="levqor:compliance.emails_retry_due",
        func="compliance.outbox.tasks.emails_retry_due",
        cron="* * * * *",
        description="Every minute: send outbox emails that are due (retries after back-off, ones the queue lost).",
    ),
    Job(
        name="levqor:api.quota_flush",
        func="levqor.api.tasks.quota_flush",
        cron="* * * * *",
        description="Every minute, with Redis: write the API's monthly call counters changed since to the database.",
    ),
    Job(
        name="levqor:accounts.clear_expired_sessions",
        func="levqor.accounts.tasks.clear_expired_sessions",
        cron="41 4 * * *",
        description="Delete expired sign-in sessions daily.",
    ),
    Job(
        name="levqor:assist.prune_calls",
        func="levqor.assist.tasks.ai_calls_prune",
        cron="43 3 * * *",
        description="Daily: delete assistant call records past LEVQOR_AI_CALL_RETENTION_DAYS.",
    ),
    Job(
        name="levqor:metrics.prune_counts",
        func="levqor.metrics.tasks.counts_prune",
        cron="47 3 * * *",
        description="Daily: delete telemetry counts past their retention, and server-error counts past 30 days.",
    ),
    Job(
        name="levqor:workflows.sweep_stale_runs",
        func="levqor.workflows.tasks.runs_sweep_stale",
        cron="*/10 * * * *",
        description="Every 10 minutes: re-queue live runs whose task was lost, fail runs stuck running.",
    ),
    Job(
        name="levqor:billing.run_dunning",
        func="billing.tasks.dunning_run",
        cron="5 * * * *",
        description="Dunning sweep hourly: each stage's email (billing/stages.py) once per case, and the pause.",
    ),
    Job(
        name="levqor:billing.cards_expiring",
        func="billing.tasks.cards_expiring_notify",
        cron="20 9 * * *",
        description="Daily: email the owner 30 and 7 days before the card Stripe charges expires, once each.",
    ),
    Job(
        name="levqor:billing.retry_stripe_events",
        func="billing.tasks.events_retry",
        cron="*/5 * * * *",
        description="Re-enqueue Stripe events the queue lost or that failed with attempts left.",
    ),
    Job(
        name="levqor:status.heartbeat",
        func="status.tasks.heartbeat_beat",
        cron="* * * * *",
        description="Worker heartbeat every minute; the task queue shows down after 3 missed beats.",
    ),
    Job(
        name="levqor:status.snapshot",
        func="status.tasks.snapshot_take",
        cron="*/5 * * * *",
        description="Probe every component and store one snapshot each per 5-minute bucket (once per bucket).",
    ),
    Job(
        name="levqor:status.rollup",
        func="status.tasks.rollup_recent",
        cron="1-59/5 * * * *",
        description="Recompute the last 3 hours' hourly and daily rollups, a minute after each snapshot.",
    ),
    Job(
        name="levqor:status.prune",
        func="status.tasks.history_prune",
        cron="23 2 * * *",
        description="Daily: prune raw snapshots (30 days), hourly (90) and daily (400) rollups.",
    ),
    Job(
        name="levqor:status.advance_maintenance",
        func="status.tasks.maintenance_advance",
        cron="* * * * *",
        description="Start and complete maintenance windows set to do so automatically.",
    ),
    Job(
        name="levqor:status.maintenance_reminders",
        func="status.tasks.maintenance_reminders_send",
        cron="* * * * *",
        description="Remind subscribers (email, webhooks) of maintenance starting within the hour, once each.",
    ),
    Job(
        name="levqor:status.webhooks_retry",
        func="status.tasks.webhook_deliveries_retry",
        cron="* * * * *",
        description="POST status webhook deliveries that are due (backoff retries, ones a lost task never sent).",
    ),
    Job(
        name="levqor:status.watchdog",
        func="status.tasks.watchdog_run",
        cron="* * * * *",
        description="Alert on-call of outages and stale monitoring (once per change), retry failed on-call "
        "webhooks and emails, queue subscriber emails a lost task did not. Cron also runs "
        "`manage.py status_watchdog`, for when this queue is dead.",
    ),
    Job(
        name="levqor:support.evidence_due_reminders",
        func="support.tasks.evidence_reminders_send",
        cron="7 8 * * *",
        description="Daily: email support about chargebacks whose evidence is due within 3 days (once a day each).",
    ),
    Job(
        name="levqor:support.retry_sla_credits",
        func="support.tasks.sla_credits_retry",
        cron="*/5 * * * *",
        description="Every 5 minutes: retry failed SLA credits in Stripe with backoff (each applied once).",
    ),
    Job(
        name="levqor:support.dfy_auto_accept",
        func="support.tasks.dfy_orders_auto_accept",
        cron="15 6 * * *",
        description="Daily: accept delivered DFY builds whose ten-business-day acceptance window has ended.",
    ),
    Job(
        name="levqor:support.dfy_late_notify",
        func="support.tasks.dfy_orders_late_notify",
        cron="20 6 * * *",
        description="Daily: email the lateness apology for each overdue DFY build (once per order and due date).",
    ),
)
