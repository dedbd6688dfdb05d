"""GET /api/workflows from a shared copy (Redis only).

A key's list of workflows changes only when one of its account's workflows
is written, and is read far more often (integrations poll it). Each page's
answer (the paginated data, before rendering) is kept under the request's
absolute URL (the `next`/`previous` links name it) and the key's account
and mode, stamped with the account's workflow generation
(`levqor.lib.cache`'s stamped entries): any save or delete of one of the
account's workflows outdates every copy at once in every process. Without
Redis every call reads the database, as a per-process copy could not hear
of a change made in another process.
"""

import hashlib

from levqor.lib.cache import stamped_get, stamped_put, stamps_bump

SECONDS = 300


def _generation(account_id: int) -> str:
    return f"wf:gen:{account_id}"


def _name(*, account_id: int, sandbox: bool, url: str) -> str:
    return f"wf:list:{account_id}:{int(sandbox)}:{hashlib.sha256(url.encode()).hexdigest()[:32]}"


def page_get(*, account_id: int, sandbox: bool, url: str):
    """(the cached page data or None, the stamp to store a new copy under)."""
    return stamped_get(_name(account_id=account_id, sandbox=sandbox, url=url), _generation(account_id))


def page_put(*, account_id: int, sandbox: bool, url: str, stamp, data) -> None:
    stamped_put(_name(account_id=account_id, sandbox=sandbox, url=url), stamp, data, SECONDS)


def account_forget(account_id: int) -> None:
    """After any change to one of the account's workflows."""
    stamps_bump(_generation(account_id))
