from django.conf import settings
from django.db import models


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
