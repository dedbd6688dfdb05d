"""The correlation id of the work in hand: a request, a task or a command.

Set once per unit of work (the middleware for requests), read by the audit
trail and by every log line, so one id ties a request to what it caused.
"""

import contextvars
import logging
import random
import re

from django.core.signals import request_finished

_current: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")

# Accept a caller's id only if it is short and plain, so it cannot inject
# text into logs or headers.
# (`fullmatch`: `$` would also take a trailing newline.)
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def new_id() -> str:
    """32 random hex digits (a uuid4's length and alphabet). An id names a
    unit of work in logs and is no secret, so it comes from `random` (seeded
    from the OS, and again in a forked child) rather than a system call
    per request."""
    return f"{random.getrandbits(128):032x}"


def clean(candidate: str | None) -> str:
    """Return the candidate if it is a safe id, else a fresh one."""
    if candidate and _ACCEPTABLE.fullmatch(candidate):
        return candidate
    return new_id()


def get() -> str:
    return _current.get()


def set(value: str) -> contextvars.Token:  # noqa: A001 - mirrors ContextVar.set
    return _current.set(value)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


class CorrelationIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = _current.get() or "-"
        return True


def _clear_after_request(**kwargs) -> None:
    _current.set("")


request_finished.connect(_clear_after_request, dispatch_uid="levqor.lib.correlation.clear")
