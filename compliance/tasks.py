import logging

from . import audit

logger = logging.getLogger(__name__)


def verify_audit_chain() -> str:
    """Scheduled check of the audit chain. Read-only, safe to run twice; a
    broken chain fails the task so it shows in the queue's failures."""
    result = audit.verify()
    if not result.ok:
        logger.error(result.describe())
        raise RuntimeError(result.describe())
    return result.describe()
