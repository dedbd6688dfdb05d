"""Status: components, their probe results, history and incidents.

Vocabulary: a *probe* measures a component (`up` | `degraded` | `down`, a
latency, a note); a *snapshot* is one probe result per component per
5-minute bucket; *rollups* sum snapshots per hour and per day so that the
page and the API never scan raw rows. Incidents and maintenances are what
staff say about the service; their field names follow Atlassian
Statuspage's public v2 API so the JSON maps one to one.
"""

import secrets
import string
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

_ID_ALPHABET = string.ascii_lowercase + string.digits
ANNOUNCE_AHEAD = timedelta(hours=48)  # /sla section 2


def public_id() -> str:
    """A short lowercase id, shaped like Statuspage's (`qk867vbbh84x`)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


class State(models.TextChoices):
    UP = "up", "Up"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"


class Probe(models.TextChoices):
    WEB = "web", "Web/API"
    DATABASE = "database", "Database"
    CACHE = "cache", "Cache"
    QUEUE = "queue", "Task queue (worker heartbeat)"
    STRIPE = "stripe", "Stripe (last API contact)"
    EMAIL = "email", "Email (last send)"
    WORKFLOWS = "workflows", "Workflows"
    NONE = "", "None (a group)"


class ComponentStatus(models.TextChoices):
    """Statuspage's component statuses, which staff set on an incident."""

    OPERATIONAL = "operational", "Operational"
    DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"
    UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"


class Component(models.Model):
    """A part of the service shown on /status. Staff rename, order, group,
    describe and hide them; `slug` and `probe` are stable identifiers."""

    public_id = models.CharField(max_length=12, unique=True, default=public_id, editable=False)
    slug = models.SlugField(max_length=40, unique=True, help_text="Stable key in /api/status/health.")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    is_group = models.BooleanField("group", default=False, help_text="A heading that holds other components.")
    group = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        limit_choices_to={"is_group": True},
    )
    hidden = models.BooleanField(default=False, help_text="Hidden from /status and the v2 API (still probed).")
    only_show_if_degraded = models.BooleanField(default=False)
    probe = models.CharField(max_length=20, choices=Probe.choices, blank=True)
    critical = models.BooleanField(default=False, help_text="When down, /api/status/health answers 503.")
    degraded_after_ms = models.PositiveIntegerField(
        default=1000, help_text="A probe slower than this many milliseconds reports the component degraded."
    )
    # What staff (or the Statuspage-compatible API) said about it outside any
    # incident; `status.state` shows the worse of this, the probe and incidents.
    declared_status = models.CharField(
        max_length=25,
        choices=ComponentStatus.choices,
        null=True,
        blank=True,
        editable=False,
        help_text="Status set by staff through the status API (the page shows the worse of this and the probe).",
    )
    # The latest probe result, denormalised so health reads one small table.
    state = models.CharField(max_length=10, choices=State.choices, default=State.UP)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(condition=~(Q(is_group=True) & ~Q(probe="")), name="status_group_has_no_probe"),
        ]

    def __str__(self) -> str:
        return self.name


class SnapshotRun(models.Model):
    """Claims one 5-minute bucket: a second run (or a second worker) for the
    same bucket stops at the unique key and changes nothing."""

    bucket = models.DateTimeField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"bucket {self.bucket:%Y-%m-%d %H:%M}"


class Snapshot(models.Model):
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField(help_text="Start of the 5-minute bucket.")
    state = models.CharField(max_length=10, choices=State.choices)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    in_maintenance = models.BooleanField(default=False, help_text="Excluded from uptime.")

    class Meta:
        ordering = ["-taken_at"]
        constraints = [models.UniqueConstraint(fields=["component", "taken_at"], name="status_snapshot_once")]
        indexes = [models.Index(fields=["taken_at"])]

    def __str__(self) -> str:
        return f"{self.component} {self.state} at {self.taken_at:%Y-%m-%d %H:%M}"


class Rollup(models.Model):
    """Sums over snapshots. Each snapshot stands for `SNAPSHOT_SECONDS`.
    observed = available + downtime; maintenance time is outside observed."""

    samples = models.PositiveIntegerField(default=0)
    observed_seconds = models.PositiveIntegerField(default=0)
    available_seconds = models.PositiveIntegerField(default=0)
    downtime_seconds = models.PositiveIntegerField(default=0)
    degraded_seconds = models.PositiveIntegerField(default=0)
    maintenance_seconds = models.PositiveIntegerField(default=0)
    latency_samples = models.PositiveIntegerField(default=0)
    latency_min_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_avg_ms = models.FloatField(null=True, blank=True)
    latency_max_ms = models.PositiveIntegerField(null=True, blank=True)

    SUM_FIELDS = (
        "samples",
        "observed_seconds",
        "available_seconds",
        "downtime_seconds",
        "degraded_seconds",
        "maintenance_seconds",
        "latency_samples",
        "latency_min_ms",
        "latency_avg_ms",
        "latency_max_ms",
    )

    class Meta:
        abstract = True

    @property
    def uptime_percent(self) -> float | None:
        if not self.observed_seconds:
            return None
        return 100.0 * self.available_seconds / self.observed_seconds


class HourlyRollup(Rollup):
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="hourly_rollups")
    hour = models.DateTimeField()

    class Meta:
        ordering = ["-hour"]
        constraints = [models.UniqueConstraint(fields=["component", "hour"], name="status_hourly_once")]
        indexes = [models.Index(fields=["hour"])]

    def __str__(self) -> str:
        return f"{self.component} {self.hour:%Y-%m-%d %H}:00"


class DailyRollup(Rollup):
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="daily_rollups")
    day = models.DateField(help_text="UTC day.")

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["component", "day"], name="status_daily_once")]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.component} {self.day}"


class Heartbeat(models.Model):
    """The worker heartbeat: a scheduled task touches this row every minute."""

    name = models.CharField(max_length=40, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class ExternalContact(models.Model):
    """The result of the last real call to an outside service (Stripe, the
    email provider), written by the code that made the call. Probes read it;
    nothing here ever calls the outside service from a request."""

    name = models.CharField(max_length=40, unique=True)
    ok = models.BooleanField()
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)
    contacted_at = models.DateTimeField()
    last_ok_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'failed'}"


class Impact(models.TextChoices):
    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    POSTMORTEM = "postmortem", "Postmortem"


UNRESOLVED = (IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING)
INCIDENT_COMPONENT_STATUSES = [c for c in ComponentStatus.choices if c[0] != ComponentStatus.UNDER_MAINTENANCE]


class Incident(models.Model):
    public_id = models.CharField(max_length=12, unique=True, default=public_id, editable=False)
    name = models.CharField(max_length=200)
    impact = models.CharField(max_length=10, choices=Impact.choices, default=Impact.MINOR)
    # Statuspage's `impact_override` given through the status API: the impact
    # then stays as given instead of following the components' statuses.
    impact_override = models.CharField(max_length=10, choices=Impact.choices, blank=True, default="", editable=False)
    status = models.CharField(
        max_length=15, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING, editable=False
    )
    started_at = models.DateTimeField()
    monitoring_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A draft (made by an on-call alert) is shown to staff only: never on
    # /status, the v2 API, feeds, banners, health or in the SLA measurement.
    draft = models.BooleanField(default=False, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    components = models.ManyToManyField(Component, through="IncidentComponent", related_name="incidents")

    class Meta:
        ordering = ["-started_at"]
        # started_at: /status/history reads incidents a few months at a time.
        indexes = [models.Index(fields=["status"]), models.Index(fields=["started_at"], name="status_incident_started")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_unresolved(self) -> bool:
        return self.status in UNRESOLVED

    @property
    def is_draft(self) -> bool:
        return self.draft


class IncidentComponent(models.Model):
    """A component an incident affects, and its state while it lasts."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected")
    component = models.ForeignKey(Component, on_delete=models.CASCADE, limit_choices_to={"is_group": False})
    status = models.CharField(
        max_length=25, choices=INCIDENT_COMPONENT_STATUSES, default=ComponentStatus.PARTIAL_OUTAGE
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "component"], name="status_incident_component_once")]

    def __str__(self) -> str:
        return f"{self.component}: {self.get_status_display()}"


class IncidentUpdate(models.Model):
    public_id = models.CharField(max_length=12, unique=True, default=public_id, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=15, choices=IncidentStatus.choices)
    body = models.TextField()
    display_at = models.DateTimeField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deliver_notifications = models.BooleanField(default=False)
    affected_components = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-display_at", "-id"]

    def __str__(self) -> str:
        return f"{self.incident}: {self.get_status_display()}"


class IncidentTemplate(models.Model):
    """A canned incident: staff start a new incident from it in Admin."""

    name = models.CharField(max_length=100, unique=True)
    title = models.CharField(max_length=200, help_text="The new incident's name.")
    impact = models.CharField(max_length=10, choices=Impact.choices, default=Impact.MINOR)
    body = models.TextField(help_text="The first update's text.")
    components = models.ManyToManyField(Component, blank=True, limit_choices_to={"is_group": False})

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MaintenanceStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    VERIFYING = "verifying", "Verifying"
    COMPLETED = "completed", "Completed"


class Maintenance(models.Model):
    public_id = models.CharField(max_length=12, unique=True, default=public_id, editable=False)
    name = models.CharField(max_length=200)
    body = models.TextField(help_text="What will happen and what customers will notice.")
    impact = models.CharField(max_length=15, default="maintenance", editable=False)
    status = models.CharField(
        max_length=15, choices=MaintenanceStatus.choices, default=MaintenanceStatus.SCHEDULED, editable=False
    )
    scheduled_for = models.DateTimeField()
    scheduled_until = models.DateTimeField()
    auto_start = models.BooleanField(default=True, help_text="Start at the window's beginning.")
    auto_complete = models.BooleanField(default=True, help_text="Complete at the window's end.")
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Claimed (conditional UPDATE) by the sweep that sends the one-hour reminder.
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    components = models.ManyToManyField(Component, blank=True, limit_choices_to={"is_group": False})
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-scheduled_for"]
        indexes = [models.Index(fields=["scheduled_for"], name="status_maint_scheduled")]  # /status/history
        constraints = [
            models.CheckConstraint(
                condition=Q(scheduled_until__gt=models.F("scheduled_for")), name="status_maintenance_window"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def announced_ahead(self) -> bool:
        """/sla: planned maintenance is excluded from downtime only when it
        was announced (created, which publishes it on /status and emails
        subscribers) at least 48 hours before it started."""
        return (self.started_at or self.scheduled_for) - self.created_at >= ANNOUNCE_AHEAD


class MaintenanceUpdate(models.Model):
    public_id = models.CharField(max_length=12, unique=True, default=public_id, editable=False)
    maintenance = models.ForeignKey(Maintenance, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=15, choices=MaintenanceStatus.choices)
    body = models.TextField()
    display_at = models.DateTimeField()
    created_at = models.DateTimeField()
    deliver_notifications = models.BooleanField(default=False)

    class Meta:
        ordering = ["-display_at", "-id"]

    def __str__(self) -> str:
        return f"{self.maintenance}: {self.get_status_display()}"


class Subscriber(models.Model):
    """An email address that asked for incident notifications (double opt-in)."""

    email = models.EmailField(unique=True)
    components = models.ManyToManyField(
        Component,
        blank=True,
        related_name="subscribers",
        limit_choices_to={"is_group": False},
        help_text="The components this person hears about; none chosen means all (including ones added later).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirm_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class AlertState(models.Model):
    """What on-call was last told about one watched thing (`component:<slug>`
    or `monitoring`). A change of state is claimed by a conditional UPDATE
    of this row, so two workers (or the web and the watchdog) alert once."""

    key = models.CharField(max_length=60, unique=True)
    down = models.BooleanField(default=False)
    episode = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key}: {'down' if self.down else 'up'}"


class Alert(models.Model):
    """One on-call notice: something went down (or monitoring went stale),
    or it recovered. Unique per watched thing, episode and kind."""

    class Kind(models.TextChoices):
        DOWN = "down", "Down"
        RECOVERED = "recovered", "Recovered"

    key = models.CharField(max_length=60)
    episode = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    subject = models.CharField(max_length=200)
    text = models.TextField()
    raised_by = models.CharField(max_length=20, help_text="snapshot task, watchdog command or web process")
    created_at = models.DateTimeField()
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts", help_text="The draft."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["key", "episode", "kind"], name="status_alert_once")]

    def __str__(self) -> str:
        return self.subject


class LeasedDelivery(models.Model):
    """One POST to an outside webhook, claimed by a conditional UPDATE before
    it is sent (`claimed_until` is the lease), retried with backoff while
    `next_attempt_at` is set (status/services/deliveries.py)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Empty once given up.")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class AlertDelivery(LeasedDelivery):
    """One alert POSTed to the on-call webhook. (On-call emails are outbox
    emails: `compliance.OutboundEmail`, kind "status.oncall-alert".)"""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    target = models.CharField(max_length=300)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["alert", "target"], name="status_alert_webhook_once")]

    def __str__(self) -> str:
        return f"{self.alert} → webhook {self.target}"


def webhook_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


class WebhookSubscriber(models.Model):
    """An endpoint that gets Statuspage-shaped webhooks for incidents,
    maintenance and component changes. Its owner confirms by email before
    it receives anything; repeated failures disable it (the owner is told)."""

    public_id = models.CharField(max_length=12, unique=True, default=public_id, editable=False)
    endpoint = models.URLField(max_length=500)
    email = models.EmailField(help_text="The owner: confirms the subscription and hears about failures.")
    components = models.ManyToManyField(
        Component,
        blank=True,
        related_name="webhook_subscribers",
        limit_choices_to={"is_group": False},
        help_text="None chosen means all components (including ones added later).",
    )
    secret = models.CharField(max_length=64, default=webhook_secret, editable=False)
    created_at = models.DateTimeField()
    confirm_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    unsubscribed_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "email"], name="status_webhook_subscriber_once")]

    def __str__(self) -> str:
        return self.endpoint

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None and self.disabled_at is None


class WebhookEvent(models.Model):
    """One thing webhook subscribers are told (an incident or maintenance
    update, a maintenance reminder, a component's change), unique by key; its
    Statuspage payload is fixed when it happens (`meta` is added per delivery)."""

    key = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=20)  # "incident" | "component_update"
    payload = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.key


class WebhookDelivery(LeasedDelivery):
    """One event POSTed to one webhook subscriber, once."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(WebhookSubscriber, on_delete=models.CASCADE, related_name="deliveries")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "subscriber"], name="status_webhook_delivery_once"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscriber}"

    @property
    def delivery_id(self) -> str:
        """Stable across retries: receivers de-duplicate on it."""
        return f"levqor-webhook-{self.pk}"


class ComponentPublication(models.Model):
    """The status last published to webhook subscribers for one component;
    a change is claimed by a conditional UPDATE of this row (`changes` counts
    them and names each event)."""

    component = models.OneToOneField(Component, on_delete=models.CASCADE, primary_key=True, related_name="+")
    status = models.CharField(max_length=25, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL)
    changes = models.PositiveIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.component_id}: {self.status}"


class StatusApiKey(models.Model):
    """A staff key for the Statuspage-compatible manage API (/api/v1/), sent
    as `Authorization: OAuth <key>`. Only a SHA-256 of the secret is stored
    (keys are 190 random bits, so a fast hash is safe), with a prefix people
    can recognise. Revoked keys stay, for the audit trail."""

    class Scope(models.TextChoices):
        READ = "read", "Read (GET only)"
        WRITE = "write", "Read and write"

    name = models.CharField(max_length=100, help_text="Who or what uses it, e.g. the CI pipeline.")
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.WRITE)
    prefix = models.CharField(max_length=24, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["revoked_at", "-created_at"]
        verbose_name = "status API key"
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=["read", "write"]), name="status_api_key_scope_known")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def audit_label(self) -> str:
        return f"status-api-key:{self.prefix}"


SNAPSHOT_SECONDS = 300
HEARTBEAT_SECONDS = 60
