import logging

from . import audit, security

logger = logging.getLogger(__name__)


def verify_audit_chain() -> str:
    """Scheduled check of the audit chain. Read-only, safe to run twice; a
    broken chain fails the task so it shows in the queue's failures."""
    result = audit.verify()
    if not result.ok:
        logger.error(result.describe())
        raise RuntimeError(result.describe())
    return result.describe()


def prune_security_records() -> dict:
    """Daily data minimisation for lockout logs, abuse signals and
    unconfirmed subscriptions. Safe to run twice."""
    return security.security_records_prune()
