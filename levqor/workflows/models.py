"""Workflow, Run, RunLog: the product data customers own.

Every row belongs to one account and is either live or sandbox data; a key
only ever sees rows of its own account and its own mode.
"""

import uuid
from decimal import Decimal

from django.db import models
from django.utils import timezone

from levqor.accounts.models import Account


class Workflow(models.Model):
    """A named list of steps with a JSON Schema for the payload each run takes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="workflows")
    is_sandbox = models.BooleanField(default=False, help_text="Sandbox data: only sandbox keys see it.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=2000)
    input_schema = models.JSONField(default=dict, blank=True, help_text="JSON Schema every run payload must satisfy.")
    steps = models.JSONField(
        default=list, help_text="The steps a run executes, in order (see levqor/workflows/steps.py)."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="Deleted through the API; runs are kept.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "is_sandbox", "deleted_at", "-created_at"])]

    def __str__(self) -> str:
        return self.name


class Run(models.Model):
    """One execution of a workflow with one payload."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    UNFINISHED = ("queued", "running")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="runs")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="runs")
    is_sandbox = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    payload = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"), help_text="GBP")
    started_by = models.CharField(max_length=254, blank=True, help_text="Who started it: a key prefix or a user.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "is_sandbox", "-created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "succeeded", "failed"]), name="run_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow} run {str(self.id)[:8]}"

    @property
    def duration_ms(self) -> int | None:
        if self.started_at and self.finished_at:
            return int((self.finished_at - self.started_at).total_seconds() * 1000)
        return None

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class RunLog(models.Model):
    """One line a run wrote while it executed, in order (`seq`)."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="logs")
    seq = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    step = models.CharField(max_length=100, blank=True)
    message = models.CharField(max_length=1000)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="runlog_unique_seq")]

    def __str__(self) -> str:
        return f"{self.seq}: {self.message}"
