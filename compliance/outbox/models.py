"""The outbox tables. It belongs to the `compliance` app (compliance/models.py
imports it), so its migrations are compliance's."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboundEmail(models.Model):
    """One email: queued once per (kind, about, stage), then sent, skipped
    (the email policy refused it), dropped (what it said no longer held when
    its turn came) or failed (gave up after the last retry; staff decide)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Not sent: policy"
        DROPPED = "dropped", "Not sent: no longer true"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=60, help_text='What kind of message, e.g. "billing.dunning".')
    about_type = models.CharField(max_length=60, help_text='What it is about: "app_label.model".')
    about_id = models.CharField(max_length=64)
    stage = models.CharField(
        max_length=80, blank=True, default="", help_text="Which one of its kind about this object (stage, update, ...)."
    )
    template = models.CharField(max_length=80, help_text="templates/emails/<template>/")
    to = models.EmailField(blank=True, db_index=True, help_text="Filled when queued, or at delivery by the kind.")
    context = models.JSONField(default=dict, blank=True)
    purpose = models.CharField(max_length=20, default="transactional")
    topic = models.CharField(max_length=40, blank=True)
    tags = models.JSONField(default=list, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    sensitive = models.BooleanField(
        default=False, help_text="Its context holds a secret (a sign-in link): emptied once it is sent or given up."
    )
    requested = models.BooleanField(
        default=False,
        help_text="The person asked for it just now (a sign-in or confirmation link): sent even to a "
        "suppressed address.",
    )
    forget_recipient = models.BooleanField(
        default=False, help_text="The last email to a person whose data was erased: the address goes once it is sent."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    next_attempt_at = models.DateTimeField(default=timezone.now, help_text="Not tried before this time (back-off).")
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker is sending it; nobody else may before this time."
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    subject = models.CharField(max_length=300, blank=True, help_text="As sent.")
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resends = models.PositiveIntegerField(default=0, help_text="Sent again at staff request.")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it stopped being queued.")
    handled_note = models.CharField(max_length=200, blank=True, help_text="A failure staff marked as handled.")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "email"
        verbose_name_plural = "emails (outbox)"
        constraints = [
            models.UniqueConstraint(fields=["kind", "about_type", "about_id", "stage"], name="compliance_outbox_once"),
        ]
        indexes = [
            models.Index(fields=["about_type", "about_id"], name="compliance_outbox_about_idx"),
            models.Index(fields=["next_attempt_at"], condition=Q(status="queued"), name="compliance_outbox_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template} to {self.to or '(recipient decided at delivery)'}"

    @property
    def about_key(self) -> str:
        return f"{self.about_type}:{self.about_id}"


class Suppression(models.Model):
    """An address the outbox sends nothing to (except what the person asks
    for at that moment: a sign-in or confirmation link). Kept as a SHA-256
    of the normalised address, so an erased person's address is not stored
    again; it survives a SECRET_KEY rotation."""

    class Reason(models.TextChoices):
        ERASURE = "erasure", "The person's data was erased"
        STAFF = "staff", "Added by staff"
        BOUNCE = "bounce", "Hard bounce or complaint"

    address_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=10, choices=Reason.choices)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "suppressed address"

    def __str__(self) -> str:
        return f"{self.address_hash[:12]}… ({self.get_reason_display()})"
