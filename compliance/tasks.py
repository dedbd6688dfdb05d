import logging

from . import audit, security, terms

logger = logging.getLogger(__name__)


def verify_audit_chain() -> str:
    """Scheduled check of the audit chain. Read-only, safe to run twice; a
    broken chain fails the task so it shows in the queue's failures."""
    result = audit.verify()
    if not result.ok:
        logger.error(result.describe())
        raise RuntimeError(result.describe())
    return result.describe()


def terms_notify(version_id: int) -> int:
    """Email customers about a newly published terms version. Safe to run
    twice: each (version, user) is claimed before its email is sent."""
    return terms.terms_notify(version_id=version_id)


def prune_security_records() -> dict:
    """Daily data minimisation for lockout logs, abuse signals and
    unconfirmed subscriptions. Safe to run twice."""
    return security.security_records_prune()
