"""Data subject requests: exports (DSAR, GDPR art. 15/20) and erasure
requests (art. 17). Both carry the statutory due date: one calendar month
after receipt, extendable by up to two more months while the first runs.
They belong to the `compliance` app (its models.py imports them), so their
tables and migrations are compliance's."""

import calendar
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when that day does
    not exist (31 Jan + 1 month = 28 or 29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class StatutoryDeadline(models.Model):
    """Receipt time, the one-month due date and an extension of up to two
    more months (with the reason the person was told)."""

    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    due_on = models.DateField(help_text="One calendar month after receipt (the statutory deadline).")
    deadline_on = models.DateField(db_index=True, help_text="The deadline now: the due date, or later once extended.")
    extension_months = models.PositiveSmallIntegerField(default=0)
    extension_reason = models.TextField(blank=True)
    extended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def received_on(self) -> date:
        return timezone.localdate(self.requested_at)

    def days_left(self, today: date | None = None) -> int:
        """Days until the (extended) due date; negative once overdue."""
        return (self.deadline_on - (today or timezone.localdate())).days


class DataExport(StatutoryDeadline):
    """One data export (DSAR) for one user: the ZIP built by a task, its
    checksummed manifest and the signed link emailed to the user."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class Via(models.TextChoices):
        WEB = "web", "Web page"
        API = "api", "API"
        STAFF = "staff", "Staff"

    # PROTECT: erasure anonymises the user row and never deletes it, and the
    # record that a request was answered is kept as evidence.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="data_exports")
    requested_via = models.CharField(max_length=10, choices=Via.choices, default=Via.WEB)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, help_text="The last build error, for staff.")
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=300, blank=True, help_text="Path in the default storage.")
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    file_deleted_at = models.DateTimeField(null=True, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    # Links embed this version: invalidating or rebuilding bumps it, so every
    # link sent before stops working at once.
    link_version = models.PositiveIntegerField(default=1)
    link_expires_at = models.DateTimeField(null=True, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = "data export (DSAR)"
        verbose_name_plural = "data exports (DSAR)"
        indexes = [models.Index(fields=["user", "-requested_at"], name="dsar_export_user_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "building", "ready", "failed"]), name="dsar_export_status_known"
            ),
            models.CheckConstraint(condition=Q(extension_months__lte=2), name="dsar_export_extension_max_2"),
        ]

    def __str__(self) -> str:
        return f"Export #{self.pk} for user {self.user_id}"

    @property
    def link_is_live(self) -> bool:
        return (
            self.status == self.Status.READY
            and self.invalidated_at is None
            and self.file_deleted_at is None
            and self.link_expires_at is not None
            and self.link_expires_at > timezone.now()
        )

    @property
    def is_overdue(self) -> bool:
        return self.completed_at is None and self.days_left() < 0


class ErasureRequest(StatutoryDeadline):
    """A customer's "delete my data" request, reviewed by staff. On approval
    a task anonymises the person across every app (through the privacy
    providers) and closes the account."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting review"
        APPROVED = "approved", "Approved, erasing"
        COMPLETED = "completed", "Erased"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="erasure_requests")
    note = models.TextField(blank=True, max_length=2000, help_text="What the person wrote with the request.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="What each app erased or anonymised.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status__in=["pending", "approved"]), name="erasure_one_open_per_user"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "completed", "refused", "failed"]),
                name="erasure_status_known",
            ),
            models.CheckConstraint(condition=Q(extension_months__lte=2), name="erasure_extension_max_2"),
        ]

    def __str__(self) -> str:
        return f"Erasure request #{self.pk} for user {self.user_id}"

    @property
    def is_overdue(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.APPROVED) and self.days_left() < 0


class PrivacyRequest(StatutoryDeadline):
    """A data request from anyone, account or not, made at /privacy/request:
    unverified until the person follows the emailed link (valid 7 days),
    then in the staff queue with the statutory deadline counted from
    verification. Until then `requested_at`/`due_on` are provisional."""

    class Kind(models.TextChoices):
        ACCESS = "access", "A copy of my data (access / export)"
        ERASURE = "erasure", "Delete my data (erasure)"
        OBJECTION = "objection", "Stop using my data (objection)"
        CORRECTION = "correction", "Correct my data (rectification)"

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", "Awaiting email verification"
        PENDING = "pending", "Awaiting staff"
        DONE = "done", "Answered"
        REFUSED = "refused", "Refused"

    # Blank once an erasure for an address without an account is done.
    email = models.EmailField(blank=True, db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    details = models.TextField(blank=True, max_length=2000, help_text="What the person wrote with the request.")
    objection_kinds = models.JSONField(
        default=list, blank=True, help_text="For an objection: the kinds objected to (none named: every kind)."
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UNVERIFIED, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, help_text="When the form was sent.")
    # Only a hash of the emailed verification token is stored.
    verify_token_hash = models.CharField(max_length=64, unique=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The account with this address when staff answered, if any.",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    staff_note = models.TextField(blank=True, max_length=2000, help_text="Emailed to the person with the answer.")
    outcome = models.JSONField(default=dict, blank=True, help_text="What was done (export, erasure, objections).")
    data_export = models.ForeignKey(DataExport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    erasure_request = models.ForeignKey(
        ErasureRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The download link of an access answer for an address without an
    # account: signed with this version, valid until link_expires_at.
    link_version = models.PositiveIntegerField(default=1)
    link_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["email", "-created_at"], name="privacy_request_email_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["unverified", "pending", "done", "refused"]),
                name="privacy_request_status_known",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["access", "erasure", "objection", "correction"]),
                name="privacy_request_kind_known",
            ),
            models.CheckConstraint(condition=Q(extension_months__lte=2), name="privacy_request_extension_max_2"),
        ]

    def __str__(self) -> str:
        return f"Privacy request #{self.pk} ({self.kind})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.days_left() < 0

    @property
    def link_is_live(self) -> bool:
        return self.link_expires_at is not None and self.link_expires_at > timezone.now()
