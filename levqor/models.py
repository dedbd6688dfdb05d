from django.db import models
from django.utils import timezone


class EmailFailure(models.Model):
    """One outgoing email the backend refused or could not reach (written by
    `levqor.lib.mail.send` for every sender). Open until the same message
    (template and recipient) is sent successfully later, or staff mark it
    handled; open ones are counted in the admin's "needs attention"."""

    template = models.CharField(max_length=100, help_text="The email's template (templates/emails/<name>/).")
    to = models.EmailField()
    purpose = models.CharField(max_length=20)
    error = models.TextField(help_text="What the email backend raised.")
    correlation_id = models.CharField(max_length=64, blank=True, help_text="The request or task that sent it.")
    failed_at = models.DateTimeField(default=timezone.now, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-failed_at"]
        indexes = [
            models.Index(fields=["resolved_at", "-failed_at"]),
            models.Index(fields=["template", "to"]),
        ]

    def __str__(self) -> str:
        return f"{self.template} to {self.to} at {self.failed_at:%Y-%m-%d %H:%M}"
