import hashlib
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

# The data-request models live in their own room (compliance/dsar/) and
# belong to this app: importing them here registers them with it.
from .dsar.models import DataExport, ErasureRequest, PrivacyRequest  # noqa: F401
from .outbox.models import OutboundEmail, Suppression  # noqa: F401 - the email outbox is this app's too


class AuditEvent(models.Model):
    """One entry in the append-only, hash-chained audit trail.

    `hash` is SHA-256 over a canonical form of the hashed fields (sequence,
    time, actor id, action, target, correlation id, previous hash and the
    details digest). Personal text (`actor_label`, `details`) is kept out of
    that form: `details_digest` is a salted digest of the details, so an
    erasure can blank the details and the salt and the chain still verifies.
    Write only through `compliance.audit.record()`.
    """

    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    occurred_at = models.DateTimeField(db_index=True)
    # No database constraint and no cascade: the id is part of the hashed
    # record and must survive whatever happens to the user row.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    details_salt = models.CharField(max_length=32, blank=True)
    details_digest = models.CharField(max_length=64)
    details_erased_at = models.DateTimeField(null=True, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Audit events are append-only; use compliance.audit.blank_details() for erasure.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only and cannot be deleted.")

    @property
    def target(self) -> str:
        return f"{self.target_type}:{self.target_id}" if self.target_type else ""


class AuditChainHead(models.Model):
    """The single row every audit writer locks, so appends are serialised
    and the chain never forks. Holds the last sequence number and hash."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"audit head at #{self.seq}"


# --- Cookie consent ------------------------------------------------------------


class CookieConsent(models.Model):
    """One choice made on the cookie banner or preferences page: the proof of
    consent. Append-only: a later choice is a new row, and the latest row for
    a consent id is what applies. `consent_id` is the random id kept in the
    visitor's (necessary) consent cookie; `user` is set when signed in."""

    class Mechanism(models.TextChoices):
        ACCEPT_ALL = "accept_all", "Accept all (banner)"
        REJECT_ALL = "reject_all", "Reject all (banner)"
        CUSTOM = "custom", "Saved preferences"
        API = "api", "API"

    consent_id = models.UUIDField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="cookie_consents"
    )
    functional = models.BooleanField(default=False)
    analytics = models.BooleanField(default=False)
    marketing = models.BooleanField(default=False)
    banner_version = models.CharField(max_length=20)
    mechanism = models.CharField(max_length=20, choices=Mechanism.choices)
    ip_hash = models.CharField(max_length=16, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"consent {self.consent_id} ({self.get_mechanism_display()})"

    @property
    def categories(self) -> dict[str, bool]:
        return {
            "necessary": True,
            "functional": self.functional,
            "analytics": self.analytics,
            "marketing": self.marketing,
        }


# --- Terms of service ----------------------------------------------------------


class TermsVersion(models.Model):
    """A version of the terms of service: the whole document, as /terms shows
    it (written in compliance/terms_markup.py's small markup). Drafts (no
    `published_at`) can be edited; publishing makes it current and asks every
    customer to accept it. A published version's words never change: a change
    is a new version."""

    version = models.CharField(max_length=20, unique=True, help_text="For example 2026-11 or 3.1.")
    text = models.TextField(help_text="The full terms, as customers will read them.")
    changelog = models.TextField(help_text="What changed since the previous version, in plain words.")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-published_at", "-created_at"]
        verbose_name = "terms of service version"

    def __str__(self) -> str:
        return f"Terms {self.version}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            stored = TermsVersion.objects.filter(pk=self.pk, published_at__isnull=False).values(
                "version", "text", "changelog"
            )
            for row in stored:  # published: what customers accepted stays as it was
                if (row["version"], row["text"], row["changelog"]) != (self.version, self.text, self.changelog):
                    raise ValidationError(
                        f"Terms {row['version']} are published and cannot be changed: make a new version instead."
                    )
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def text_sha256(self) -> str:
        """The fingerprint of the exact words: each acceptance keeps the one it accepted."""
        return hashlib.sha256(self.text.encode()).hexdigest()


class TermsAcceptance(models.Model):
    """A user accepted a terms version: when, from which address, how."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="terms_acceptances")
    version = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    mechanism = models.CharField(max_length=10, choices=[("web", "Web page"), ("api", "API")])
    text_sha256 = models.CharField(
        "SHA-256 of the text accepted",
        max_length=64,
        blank=True,
        editable=False,
        help_text="Of the version's exact text when it was accepted: a later edit of the text would not match.",
    )

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [models.UniqueConstraint(fields=["user", "version"], name="terms_accepted_once")]

    def __str__(self) -> str:
        return f"{self.user} accepted {self.version}"


class TermsNotice(models.Model):
    """A claim that one user was emailed about one new version: inserted
    before sending, so a re-run of the notification task sends nothing twice."""

    version = models.ForeignKey(TermsVersion, on_delete=models.CASCADE, related_name="notices")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "user"], name="terms_notice_once")]

    def __str__(self) -> str:
        return f"{self.version} notice to {self.user_id}"


# --- Marketing double opt-in ------------------------------------------------------

MARKETING_TOPICS = (
    ("product_updates", "Product updates"),
    ("offers", "Offers"),
    ("technical", "Technical"),
    ("events", "Events"),
    ("educational", "Educational"),
)
# One line each, shown beside its box: consent is specific and informed.
MARKETING_TOPIC_DESCRIPTIONS = {
    "product_updates": "New features and changes to Levqor, about once a month.",
    "offers": "Discounts and plan offers, a few times a year.",
    "technical": "Deep dives on building AI workflows: tips, patterns and API changes.",
    "events": "Invitations to webinars and workshops.",
    "educational": "Guides and courses on automating work with AI.",
}


class MarketingSubscription(models.Model):
    """One email address on the marketing list. Pending until the emailed
    confirmation link (valid 7 days) is followed; only confirmed addresses,
    for the topics they chose, ever get marketing email."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    email = models.EmailField(unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    product_updates = models.BooleanField(default=True)
    offers = models.BooleanField(default=True)
    technical = models.BooleanField(default=True)
    events = models.BooleanField(default=True)
    educational = models.BooleanField(default=True)
    # Only a hash of the confirmation token is stored; a new request replaces it.
    confirm_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    confirm_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=[("web", "Web form"), ("api", "API")], default="web")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "confirmed", "unsubscribed"]), name="marketing_status_known"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def topics(self) -> dict[str, bool]:
        return {code: getattr(self, code) for code, _ in MARKETING_TOPICS}


# --- Right to object -------------------------------------------------------------


class Objection(models.Model):
    """A person's objection to one kind of processing (GDPR art. 21). One row
    per (email, kind); `active` says whether it applies now, and the audit
    trail keeps the history of changes."""

    class Kind(models.TextChoices):
        MARKETING = "marketing", "Direct marketing"
        PROFILING = "profiling", "Profiling"
        AUTOMATION = "automation", "Automated decision-making"
        ANALYTICS = "analytics", "Analytics"

    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="objections"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    active = models.BooleanField(default=True, db_index=True)
    source = models.CharField(max_length=10, choices=[("web", "Web page"), ("api", "API"), ("staff", "Staff")])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["email", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["email", "kind"], name="objection_once_per_kind"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["marketing", "profiling", "automation", "analytics"]),
                name="objection_kind_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email}: {self.get_kind_display()} ({'active' if self.active else 'withdrawn'})"


# --- High-risk data screening ------------------------------------------------------


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class ScreeningRule(models.Model):
    """A keyword or pattern that marks high-risk data. Rules are data: staff
    tune them in Admin; `compliance.screening.ensure_default_rules()` adds
    the defaults (by name, never overwriting an edited rule)."""

    class Category(models.TextChoices):
        MEDICAL = "medical", "Medical"
        LEGAL = "legal", "Legal"
        FINANCIAL = "financial", "Financial"

    class Kind(models.TextChoices):
        KEYWORD = "keyword", "Keyword (whole words, any case)"
        PATTERN = "pattern", "Regular expression"

    name = models.SlugField(max_length=80, unique=True)
    category = models.CharField(max_length=20, choices=Category.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    pattern = models.CharField(max_length=500)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    description = models.CharField(max_length=300, help_text="Shown to the customer when this rule matches.")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.kind == self.Kind.PATTERN:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValidationError({"pattern": f"Not a valid regular expression: {exc}"}) from None


class ScreeningBlock(models.Model):
    """A workflow definition or run payload refused because a critical rule
    matched. The payload itself is never stored (it is the sensitive data):
    only its fingerprint and which rules matched where."""

    class Status(models.TextChoices):
        BLOCKED = "blocked", "Blocked"
        APPEALED = "appealed", "Appeal pending"
        ALLOWED = "allowed", "Allowed on appeal"
        UPHELD = "upheld", "Block upheld"

    # The customer account, by id: compliance depends on no other app's models.
    account_id = models.BigIntegerField(db_index=True)
    account_label = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=30, help_text="What was screened: workflow_definition, run_payload, ...")
    fingerprint = models.CharField(max_length=64, db_index=True)
    reason = models.CharField(max_length=500)
    findings = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BLOCKED, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"block #{self.pk} ({self.kind})"

    # What customers read for `kind` (the code names are ours, not theirs).
    KIND_LABELS = {
        "workflow_definition": "A workflow definition",
        "run_payload": "The input data of a workflow run",
    }

    @property
    def kind_label(self) -> str:
        return self.KIND_LABELS.get(self.kind, self.kind.replace("_", " ").capitalize())


class ScreeningAppeal(models.Model):
    """A customer's appeal against a block, decided by staff in Admin."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    block = models.OneToOneField(ScreeningBlock, on_delete=models.CASCADE, related_name="appeal")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    explanation = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"appeal on block #{self.block_id}"


# --- Abuse signals ----------------------------------------------------------------


class AbuseSignal(models.Model):
    """One log-only abuse signal (sign-up burst, card declines, card testing).
    Nothing is blocked automatically; staff see counts on the admin index.
    The identifier (IP, email, customer id) is stored only as `pii_hash`."""

    kind = models.CharField(max_length=40, db_index=True)
    identifier_hash = models.CharField(max_length=16, db_index=True)
    count = models.PositiveIntegerField(help_text="Events seen for this identifier in the signal's window.")
    details = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.identifier_hash}"
