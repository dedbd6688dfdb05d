"""Per-kind hooks, registered by the app that owns the kind from its
`AppConfig.ready()` (compliance imports no app):

    kinds.register("billing.dunning", prepare=dunning_email_prepare)

`prepare(email, *, resend)` runs at delivery time, under the email's lease,
and returns the recipient and the context to render with (model objects
are fine here: they are never stored). It raises `Drop("why")` when what
the email would say no longer holds (the invoice was paid meanwhile); the
email is then closed as "dropped", not sent, and the reason kept on it.
A kind with no hook is sent to its stored address with its stored context.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


class Drop(Exception):  # noqa: N818 - reads as what it does: outbox.Drop("the case was paid")
    """This email must not go out any more; the message says why."""


@dataclass(frozen=True)
class Prepared:
    to: str
    context: dict = field(default_factory=dict)


Prepare = Callable[..., Prepared]  # prepare(email, *, resend: bool) -> Prepared, may raise Drop


@dataclass(frozen=True)
class Kind:
    name: str
    prepare: Prepare | None = None


_kinds: dict[str, Kind] = {}


def register(name: str, *, prepare: Prepare | None = None) -> None:
    """Register (or replace) the delivery hook of one kind of email."""
    _kinds[name] = Kind(name=name, prepare=prepare)


def get(name: str) -> Kind:
    return _kinds.get(name) or Kind(name=name)
