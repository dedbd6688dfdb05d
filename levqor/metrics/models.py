"""Counters kept in the database, so every web process on every machine adds
to the same figure and a restart loses nothing.

`ServerErrorCount`: 5xx answers per minute (the `errors_last_5m` figure).
`TelemetryCount`: anonymous product telemetry: an event name, an hour and a
count, recorded only for visitors who consented to analytics. No user, no
IP, no page address beyond the event name: nothing that identifies anyone.
"""

from django.db import models


class ServerErrorCount(models.Model):
    minute = models.DateTimeField(unique=True, help_text="The minute (UTC) the errors happened in.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-minute"]
        verbose_name = "server error count"

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M}: {self.count}"


class TelemetryCount(models.Model):
    event = models.CharField(max_length=50)
    hour = models.DateTimeField(help_text="The hour (UTC) the events happened in.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-hour", "event"]
        verbose_name = "telemetry count"
        constraints = [models.UniqueConstraint(fields=["event", "hour"], name="telemetry_one_row_per_event_hour")]

    def __str__(self) -> str:
        return f"{self.event} {self.hour:%Y-%m-%d %H}:00: {self.count}"
