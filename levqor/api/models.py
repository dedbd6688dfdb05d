"""API keys: stored as a SHA-256 of the secret, with a visible prefix."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from levqor.accounts.models import Account


class ApiKey(models.Model):
    """One secret an account's integration sends as `X-Api-Key` or bearer.

    The secret itself is never stored: only its SHA-256 (keys are 160 random
    bits, so a fast hash is safe) and a prefix people can recognise. A rotated
    key stays valid until `expires_at`, so clients can switch without downtime.
    """

    class Mode(models.TextChoices):
        LIVE = "live", "Live"
        TEST = "test", "Sandbox"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.LIVE)
    prefix = models.CharField(max_length=32, unique=True, help_text="The first characters of the key, for people.")
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Set when the key is rotated: end of overlap.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    rotated_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaced_by"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(condition=models.Q(mode__in=["live", "test"]), name="apikey_mode_known"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_sandbox(self) -> bool:
        return self.mode == self.Mode.TEST

    def state(self, now=None) -> str:
        """active, rotating (valid until expires_at), expired or revoked."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None:
            return "expired" if self.expires_at <= now else "rotating"
        return "active"

    def is_usable(self, now=None) -> bool:
        return self.state(now) in ("active", "rotating")


class ApiUsage(models.Model):
    """Calls an account made in one calendar month (UTC), live and sandbox
    apart: the monthly quota's counter. In the database, so every process
    shares it and a restart loses nothing; one atomic upsert per call
    (`levqor.api.quotas`)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_usage")
    mode = models.CharField(max_length=4, choices=ApiKey.Mode.choices)
    month = models.DateField(help_text="The first day of the month (UTC).")
    calls = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "API usage"
        verbose_name_plural = "API usage"
        constraints = [
            models.UniqueConstraint(fields=["account", "mode", "month"], name="apiusage_one_row_per_month"),
            models.CheckConstraint(condition=models.Q(mode__in=["live", "test"]), name="apiusage_mode_known"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.mode} {self.month:%Y-%m}: {self.calls}"
