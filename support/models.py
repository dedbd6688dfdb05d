"""Support state: tickets (with the first-response clock), SLA credit requests (with the measured downtime and the
Stripe credit), disputes and chargebacks, and their messages. The emails
this app sends are rows of the one outbox (`compliance.OutboundEmail`),
about these records.
"""

import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from levqor.accounts.models import Account
from levqor.plans import DFY_TIERS, PLAN_CHOICES


def _token() -> str:
    return secrets.token_hex(16)


def attachment_path(instance, filename: str) -> str:
    """A random private name: nothing of the customer's file name reaches storage."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"support/attachments/{uuid.uuid4().hex}.{suffix}"


class Impact(models.TextChoices):
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"


class CreditState(models.TextChoices):
    NONE = "", "No credit"
    PENDING = "pending", "Awaiting Stripe"
    RETRYING = "retrying", "Failed: retry scheduled"
    FAILED = "failed", "Failed: needs staff"
    APPLIED = "applied", "Applied in Stripe"
    CANCELED = "canceled", "Canceled by staff"


class CreditErrorKind(models.TextChoices):
    UNREACHABLE = "unreachable", "Could not reach Stripe"
    REFUSED = "refused", "Stripe refused"
    API_ERROR = "api_error", "Stripe API error"
    INVALID = "invalid", "Not sent to Stripe"


class SlaCreditRequest(models.Model):
    """A customer's claim for a service credit for one period (a month or a
    day). At most one open (pending / needs-more-info) request per account
    and month: the credit is a share of that month's fee."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        NEEDS_MORE_INFO = "needs-more-info", "Needs more info"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class PeriodKind(models.TextChoices):
        MONTH = "month", "A whole month"
        DAY = "day", "One day (incident date)"

    OPEN = (Status.PENDING, Status.NEEDS_MORE_INFO)
    CreditState = CreditState
    # Credits still owed to the customer: the retry job works on these.
    CREDIT_DUE = (CreditState.PENDING, CreditState.RETRYING)
    # Credits that failed in Stripe (retrying or exhausted): needs attention.
    CREDIT_FAILED = (CreditState.RETRYING, CreditState.FAILED)

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="sla_credit_requests")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filed_via = models.CharField(max_length=10, default="web")
    plan = models.CharField(max_length=20, choices=PLAN_CHOICES)
    period_kind = models.CharField(max_length=5, choices=PeriodKind.choices)
    period_start = models.DateField(help_text="First UTC day claimed.")
    period_end = models.DateField(help_text="Last UTC day claimed (inclusive).")
    period_month = models.DateField(help_text="First day of the month the period falls in.")
    impact = models.CharField(max_length=10, choices=Impact.choices)
    description = models.TextField()
    attachment = models.FileField(upload_to=attachment_path, blank=True, max_length=200)
    attachment_name = models.CharField(max_length=200, blank=True)
    attachment_type = models.CharField(max_length=100, blank=True)
    attachment_size = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)

    # What status measured for the period (status/sla.py), stored at filing.
    measured_at = models.DateTimeField(null=True, blank=True)
    measured_uptime_percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    measured_downtime_seconds = models.PositiveIntegerField(null=True, blank=True)
    measured_maintenance_seconds = models.PositiveIntegerField(null=True, blank=True)
    measured_observed_seconds = models.PositiveIntegerField(null=True, blank=True)
    measurement = models.JSONField(default=dict, blank=True)
    monthly_fee_minor = models.PositiveIntegerField(default=0)
    suggested_credit_minor = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="GBP")

    # Staff's decision.
    credit_amount_minor = models.PositiveIntegerField(default=0)
    credit_currency = models.CharField(max_length=3, default="GBP")
    notes_to_customer = models.TextField(blank=True)
    internal_notes = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    # The Stripe credit: claimed by conditional update before the call, so
    # two workers (or a repeated approval) make one credit. A failed attempt
    # is retried with backoff until applied, exhausted, or canceled by staff.
    credit_state = models.CharField(max_length=10, choices=CreditState.choices, blank=True, default="")
    credit_claimed_at = models.DateTimeField(null=True, blank=True)
    stripe_credit_id = models.CharField(max_length=255, blank=True)
    credit_applied_at = models.DateTimeField(null=True, blank=True)
    credit_attempts = models.PositiveSmallIntegerField(default=0, help_text="Failed attempts so far.")
    credit_next_attempt_at = models.DateTimeField(null=True, blank=True)
    credit_failed_at = models.DateTimeField(null=True, blank=True, help_text="When the latest attempt failed.")
    credit_error_kind = models.CharField(max_length=12, choices=CreditErrorKind.choices, blank=True)
    credit_error = models.CharField(max_length=500, blank=True)
    credit_canceled_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "SLA credit request"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period_month"],
                condition=Q(status__in=["pending", "needs-more-info"]),
                name="support_one_open_sla_request_per_month",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "needs-more-info", "approved", "rejected"]),
                name="support_sla_status_known",
            ),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="support_sla_period"),
            models.UniqueConstraint(
                fields=["stripe_credit_id"], condition=~Q(stripe_credit_id=""), name="support_sla_credit_once"
            ),
            models.CheckConstraint(
                condition=Q(credit_state__in=["", "pending", "retrying", "failed", "applied", "canceled"]),
                name="support_sla_credit_state_known",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"]), models.Index(fields=["credit_state"])]

    def __str__(self) -> str:
        return f"SLA credit #{self.pk} {self.account} {self.period_label}"

    @property
    def period_label(self) -> str:
        if self.period_kind == self.PeriodKind.MONTH:
            return self.period_start.strftime("%B %Y")
        return self.period_start.strftime("%-d %B %Y")

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @staticmethod
    def money(minor: int | None, currency: str = "GBP") -> str:
        if minor is None:
            return "—"
        symbol = {"GBP": "£", "USD": "$", "EUR": "€"}.get(currency.upper(), currency.upper() + " ")
        return f"{symbol}{minor // 100}.{minor % 100:02d}"

    @property
    def suggested_display(self) -> str:
        return self.money(self.suggested_credit_minor, self.currency)

    @property
    def credit_display(self) -> str:
        return self.money(self.credit_amount_minor, self.credit_currency)

    @property
    def credit_confirmed(self) -> bool:
        """Stripe has confirmed the credit (its reference is stored)."""
        return bool(self.stripe_credit_id) and self.credit_state == CreditState.APPLIED


class SlaCreditMessage(models.Model):
    """More information a customer added (when asked), or a staff note shown to them."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", "From the customer"
        STAFF = "staff", "From support"

    request = models.ForeignKey(SlaCreditRequest, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.request_id}"


class Dispute(models.Model):
    """A customer's dispute, or a Stripe chargeback, in one queue."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_REVIEW = "in-review", "In review"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Category(models.TextChoices):
        BILLING = "billing", "Billing"
        SERVICE_QUALITY = "service-quality", "Service quality"
        SECURITY = "security", "Security"
        OTHER = "other", "Other"

    class Source(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        CHARGEBACK = "chargeback", "Stripe chargeback"

    OPEN = (Status.OPEN, Status.IN_REVIEW)

    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="support_disputes"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CUSTOMER)
    category = models.CharField(max_length=20, choices=Category.choices)
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution_notes = models.TextField(blank=True)

    # Chargebacks (charge.dispute.*): Stripe's facts, from the latest event applied.
    stripe_dispute_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    amount_minor = models.IntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    reason = models.CharField(max_length=60, blank=True)
    stripe_status = models.CharField(max_length=40, blank=True)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    evidence_submission_count = models.PositiveIntegerField(default=0)
    evidence = models.JSONField(default=dict, blank=True, help_text="Stripe evidence fields staff filled in.")
    evidence_submitted_at = models.DateTimeField(null=True, blank=True)
    stripe_event_at = models.DateTimeField(null=True, blank=True, help_text="Stripe time of the latest event applied.")
    stripe_event_rank = models.PositiveSmallIntegerField(default=0)
    stripe_events = models.JSONField(default=list, blank=True, help_text="Every event seen: id, type, time, applied.")

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "in-review", "resolved", "closed"]), name="support_dispute_status_known"
            ),
            models.CheckConstraint(
                condition=Q(category__in=["billing", "service-quality", "security", "other"]),
                name="support_dispute_category_known",
            ),
            models.CheckConstraint(
                condition=Q(source="customer") | Q(stripe_dispute_id__isnull=False),
                name="support_chargeback_has_stripe_id",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"]), models.Index(fields=["evidence_due_by"])]

    def __str__(self) -> str:
        return f"Dispute #{self.pk}: {self.subject}"

    @property
    def is_chargeback(self) -> bool:
        return self.source == self.Source.CHARGEBACK

    @property
    def amount_display(self) -> str:
        if self.amount_minor is None:
            return ""
        return SlaCreditRequest.money(self.amount_minor, self.currency or "GBP")


class DisputeMessage(models.Model):
    """A staff reply (the customer sees it), an internal note (they never
    do) or a message from the customer."""

    class Kind(models.TextChoices):
        REPLY = "reply", "Reply to customer"
        INTERNAL = "internal", "Internal note"
        CUSTOMER = "customer", "From the customer"

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on dispute #{self.dispute_id}"


class Ticket(models.Model):
    """A customer's support ticket. Its first-response clock starts when it
    is opened: due `support_sla_hours` (calendar hours, levqor/plans.py) of
    the account's plan later; the first staff reply stops it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WAITING = "waiting-on-customer", "Waiting on customer"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    ACTIVE = (Status.OPEN, Status.WAITING)

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="support_tickets")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
        limit_choices_to={"is_staff": True, "is_active": True},
    )
    opened_via = models.CharField(max_length=10, default="web")
    plan = models.CharField(max_length=20, choices=PLAN_CHOICES, help_text="The account's plan when opened.")
    sla_hours = models.PositiveSmallIntegerField(help_text="The plan's first-response time, in hours.")
    opened_at = models.DateTimeField(default=timezone.now)
    first_response_due_at = models.DateTimeField()
    first_responded_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_tickets"
    )
    # The secret part of the reply-to address (support+t<id>.<token>@…): an
    # emailed reply joins the thread only with it, and only from the account.
    reply_token = models.CharField(max_length=32, default=_token, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "waiting-on-customer", "resolved", "closed"]),
                name="support_ticket_status_known",
            ),
            models.CheckConstraint(
                condition=Q(priority__in=["low", "normal", "high", "urgent"]), name="support_ticket_priority_known"
            ),
            models.CheckConstraint(
                condition=Q(first_response_due_at__gt=models.F("opened_at")), name="support_ticket_due_after_opened"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "first_response_due_at"]),
            models.Index(fields=["opened_at"]),
        ]

    def __str__(self) -> str:
        return f"Ticket #{self.pk}: {self.subject}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def first_response_left(self, now: datetime) -> timedelta | None:
        """Time left before the first response is due (negative once breached);
        None once answered."""
        if self.first_responded_at is not None:
            return None
        return self.first_response_due_at - now

    @property
    def first_response_met(self) -> bool | None:
        if self.first_responded_at is None:
            return None
        return self.first_responded_at <= self.first_response_due_at


class TicketMessage(models.Model):
    """One message of a ticket's thread: the customer's, a staff reply (the
    customer sees it) or an internal note (they never do)."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", "From the customer"
        REPLY = "reply", "Reply to customer"
        INTERNAL = "internal", "Internal note"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    via = models.CharField(max_length=10, default="web")
    body = models.TextField()
    # The inbound email's Message-ID: an email delivered twice joins once.
    email_message_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on ticket #{self.ticket_id}"


class CannedReply(models.Model):
    """A reply staff reuse, managed in admin."""

    title = models.CharField(max_length=100, unique=True)
    body = models.TextField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title


class DfyOrder(models.Model):
    """A done-for-you build (the /dfy-contract): one per purchase. The tier's
    price, workflows and timeline come from levqor/plans.py and are stored at
    purchase. The start date is the business day after payment, the approved
    brief and access (clause 2.3); the due date is the tier's maximum business
    days on from it (the start date is day 1), plus the customer's delay
    (clause 2.4). After delivery the customer has ten business days to report
    defects; then the build is accepted (clause 2.6)."""

    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting-payment", "Awaiting payment"
        AWAITING_BRIEF = "awaiting-brief", "Awaiting brief and access"
        BUILDING = "building", "Building"
        DELIVERED = "delivered", "Delivered: acceptance window open"
        REVISION = "revision", "Revision in progress"
        ACCEPTED = "accepted", "Accepted"

    IN_PROGRESS = (Status.AWAITING_BRIEF, Status.BUILDING, Status.REVISION)
    REVISIONS_PER_WORKFLOW = 2
    ACCEPTANCE_BUSINESS_DAYS = 10

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="dfy_orders")
    tier = models.CharField(max_length=20, choices=[(t.code, t.name) for t in DFY_TIERS])
    price = models.PositiveIntegerField(help_text="Whole pounds, from the DFY catalogue at purchase.")
    workflows = models.PositiveSmallIntegerField()
    business_days_min = models.PositiveSmallIntegerField()
    business_days_max = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AWAITING_PAYMENT)
    paid_at = models.DateTimeField(null=True, blank=True)
    brief_approved_at = models.DateTimeField(null=True, blank=True)
    access_given_at = models.DateTimeField(null=True, blank=True)
    start_date = models.DateField(null=True, blank=True)
    extension_days = models.PositiveSmallIntegerField(default=0, help_text="Business days added (clause 2.4).")
    due_date = models.DateField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    acceptance_ends_on = models.DateField(null=True, blank=True)
    revisions_used = models.JSONField(default=dict, blank=True, help_text="Workflow number → rounds used.")
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_how = models.CharField(max_length=20, blank=True)
    # The Stripe purchase (a Checkout Session in payment mode); empty for orders staff created.
    stripe_checkout_session_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    amount_paid_minor = models.IntegerField(null=True, blank=True, help_text="What Stripe charged, in pence.")
    currency = models.CharField(max_length=3, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "DFY order"
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["awaiting-payment", "awaiting-brief", "building", "delivered", "revision", "accepted"]
                ),
                name="support_dfy_status_known",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return f"DFY #{self.pk} {self.get_tier_display()} for {self.account}"

    @property
    def deliveries(self) -> int:
        """How many times the build has been delivered: the first delivery, then one per revision round."""
        if self.delivered_at is None:
            return 0
        rounds = sum(self.revisions_used.values())
        return rounds + (0 if self.status == self.Status.REVISION else 1)


def evidence_path(instance, filename: str) -> str:
    """A random private name: nothing of the file's own name reaches storage."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"support/evidence/{uuid.uuid4().hex}.{suffix}"


class EvidenceFile(models.Model):
    """A file staff attach to a chargeback for one of Stripe's file evidence
    fields. Uploaded to Stripe's Files API (purpose `dispute_evidence`) when
    the evidence is submitted; the Stripe file id is kept, so a retried
    submission never uploads it twice."""

    class Field(models.TextChoices):
        # https://docs.stripe.com/api/disputes/evidence_object: the file fields.
        RECEIPT = "receipt", "Receipt or invoice"
        CUSTOMER_COMMUNICATION = "customer_communication", "Customer communication"
        SERVICE_DOCUMENTATION = "service_documentation", "Service documentation (what was delivered)"
        CANCELLATION_POLICY = "cancellation_policy", "Cancellation policy"
        REFUND_POLICY = "refund_policy", "Refund policy"
        CUSTOMER_SIGNATURE = "customer_signature", "Customer signature (terms accepted)"
        DUPLICATE_CHARGE_DOCUMENTATION = "duplicate_charge_documentation", "Duplicate charge documentation"
        UNCATEGORIZED_FILE = "uncategorized_file", "Other file"

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="evidence_files")
    field = models.CharField(max_length=40, choices=Field.choices)
    file = models.FileField(upload_to=evidence_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    stripe_file_id = models.CharField(max_length=255, blank=True, help_text="Set once Stripe has the file.")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["field"]
        constraints = [
            # Stripe takes one file per evidence field.
            models.UniqueConstraint(fields=["dispute", "field"], name="support_evidence_file_one_per_field"),
        ]

    def __str__(self) -> str:
        return f"{self.get_field_display()}: {self.original_name}"
