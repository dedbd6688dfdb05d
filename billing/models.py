"""Billing state: per-event webhook processing status and dunning cases.

Stripe is the source of truth and dj-stripe mirrors it; these tables hold
only what Levqor adds: whether each Stripe event has been processed, the
dunning cases opened by failed payments. Their emails (once per case and
stage) are the outbox's (`compliance.outbox`, see `billing.notices`).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from . import stages


class StripeEvent(models.Model):
    """One Stripe event id as we received and processed it. The raw request
    is dj-stripe's `WebhookEventTrigger`; a redelivery adds a trigger but never
    a second row here, so duplicates have one effect."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        # Valid, but cannot be applied yet: the Stripe customer is linked to
        # no account, or the case it belongs to is not open yet. Applied when
        # staff link the customer (or the case opens), or on reprocess.
        UNMATCHED = "unmatched", "Unmatched"
        FAILED = "failed", "Failed"

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=250, db_index=True)
    livemode = models.BooleanField(default=False)
    stripe_created = models.DateTimeField(help_text="When Stripe created the event (orders out-of-order deliveries).")
    customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    object_id = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()
    trigger = models.ForeignKey(
        "djstripe.WebhookEventTrigger", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    deliveries = models.PositiveIntegerField(default=1)
    last_error = models.TextField(blank=True)
    note = models.CharField(
        max_length=255, blank=True, help_text="What applying it did, or why it was ignored or is unmatched."
    )
    case = models.ForeignKey(
        "DunningCase",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stripe_events",
        help_text="The dunning case this event touched (applied to it, or ignored for it).",
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "last_attempt_at"], name="billing_event_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["received", "processing", "processed", "unmatched", "failed"]),
                name="billing_stripeevent_status_known",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"


class SubscriptionStanding(models.Model):
    """The latest payment fact applied for a subscription and the Stripe time
    of the event that said so: an older event arriving late is ignored, so a
    reordered delivery never reopens a recovered case."""

    class Standing(models.TextChoices):
        OK = "ok", "Paid"
        FAILING = "failing", "Payment failing"
        CANCELED = "canceled", "Canceled"

    stripe_subscription_id = models.CharField(max_length=255, unique=True)
    standing = models.CharField(max_length=10, choices=Standing.choices)
    as_of = models.DateTimeField()
    event_id = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.stripe_subscription_id}: {self.standing}"


# The dunning ladder's codes and labels, from its one table (`billing.stages`).
Stage = models.TextChoices("Stage", [(stage.code.upper(), (stage.code, stage.label)) for stage in stages.STAGES])


class DunningCase(models.Model):
    """A subscription whose payment failed, from the first failure until it
    is paid (recovered) or the subscription ends (canceled)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RECOVERED = "recovered", "Recovered"
        CANCELED = "canceled", "Canceled"

    Stage = Stage

    account = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="dunning_cases"
    )
    stripe_customer_id = models.CharField(max_length=255, db_index=True)
    stripe_subscription_id = models.CharField(max_length=255, db_index=True)
    stripe_invoice_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    stage = models.CharField(
        max_length=6, choices=Stage.choices, blank=True, help_text="The last stage whose email was claimed."
    )
    failure_code = models.CharField(max_length=100, blank=True)
    decline_code = models.CharField(max_length=100, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    hard_decline = models.BooleanField(default=False, help_text="Stripe will not retry: a new card is needed.")
    amount_due = models.PositiveBigIntegerField(default=0, help_text="In the currency's minor unit.")
    currency = models.CharField(max_length=3, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    next_payment_attempt = models.DateTimeField(null=True, blank=True)
    hosted_invoice_url = models.URLField(max_length=2000, blank=True)
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(help_text="Stripe time of the latest event applied to this case.")
    next_action_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next stage falls due (empty once closed or at the last stage)."
    )

    class Meta:
        ordering = ["-opened_at"]
        indexes = [
            # The admin queue's order (DunningCaseAdmin.ordering, then -pk):
            # its first page is read from an index, not by sorting every case.
            # Within a status (the queue opens on "pending"; the hourly sweep
            # reads pending cases by next_action_at too): without the status
            # first, SQLite walks every closed case (next_action_at NULL sorts
            # first there) before the first pending one.
            models.Index(
                fields=["status", "next_action_at", "-opened_at", "-id"], name="billing_case_status_queue_idx"
            ),
            # All statuses ("?status=all").
            models.Index(fields=["next_action_at", "-opened_at", "-id"], name="billing_case_queue_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_subscription_id"],
                condition=Q(status="pending"),
                name="billing_one_open_case_per_subscription",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "recovered", "canceled"]), name="billing_case_status_known"
            ),
            models.CheckConstraint(condition=stages.known_codes_q(), name="billing_case_stage_known"),
            models.CheckConstraint(
                condition=Q(status="pending", closed_at__isnull=True)
                | ~Q(status="pending") & Q(closed_at__isnull=False),
                name="billing_case_closed_iff_not_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"Case #{self.pk} {self.stripe_subscription_id} ({self.status})"

    @property
    def amount_display(self) -> str:
        symbol = {"gbp": "£", "usd": "$", "eur": "€"}.get(self.currency.lower(), "")
        major = f"{self.amount_due / 100:,.2f}"
        return f"{symbol}{major}" if symbol else f"{major} {self.currency.upper()}"


class ErasedCustomer(models.Model):
    """A Stripe customer deleted by an erasure, remembered by a SHA-256 of its
    id (not the id): a later event for it (a retry Stripe had already
    scheduled, a late delivery) is ignored instead of opening a dunning case
    or waiting "unmatched" for staff to link it to someone."""

    customer_hash = models.CharField(max_length=64, unique=True)
    erased_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Erased Stripe customer {self.customer_hash[:12]}"
