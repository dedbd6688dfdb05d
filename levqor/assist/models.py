"""One row per assistant call: who, which endpoint, which provider, how big,
how long, what it cost. Never the question or the answer (those may hold
anything a customer typed): only their sizes."""

from decimal import Decimal

from django.db import models
from django.utils import timezone

from levqor.accounts.models import Account


class AiCall(models.Model):
    class Kind(models.TextChoices):
        CHAT = "chat", "Chat"
        WORKFLOW = "workflow", "Workflow draft"
        DEBUG = "debug", "Debug a run or error"
        ONBOARDING = "onboarding", "Onboarding"

    class Outcome(models.TextChoices):
        ANSWERED = "answered", "Answered"
        FALLBACK = "fallback", "Answered offline (provider failed or timed out)"
        REFUSED = "refused", "Refused (high-risk data)"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="ai_calls")
    key_prefix = models.CharField(max_length=32, blank=True, help_text="The API key that called, by prefix.")
    sandbox = models.BooleanField(default=False)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    provider = models.CharField(max_length=30)
    model = models.CharField(max_length=100)
    failure = models.CharField(
        max_length=100, blank=True, help_text="Why the provider failed (exception type only, never its text)."
    )
    input_chars = models.PositiveIntegerField(default=0)
    output_chars = models.PositiveIntegerField(default=0)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    latency_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "AI call"
        indexes = [models.Index(fields=["account", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["chat", "workflow", "debug", "onboarding"]), name="aicall_kind_known"
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=["answered", "fallback", "refused"]), name="aicall_outcome_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.provider})"
