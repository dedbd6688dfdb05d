"""The scheduled django-q2 entry points of compliance (`levqor/schedules.py`):
thin wrappers, each named after the service it calls. Work a service queues
is that service itself, enqueued by reference, so no service imports this module."""

import logging

from . import audit

logger = logging.getLogger(__name__)


def audit_verify() -> str:
    """Scheduled check of the audit chain. Read-only, safe to run twice; a
    broken chain fails the task so it shows in the queue's failures."""
    result = audit.verify()
    if not result.ok:
        logger.error(result.describe())
        raise RuntimeError(result.describe())
    return result.describe()
