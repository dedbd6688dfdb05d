"""Project-wide signals: how one app tells others something happened
without importing them (billing may not import status; the floor imports no
app).

`external_contact` — sent after each real call to an outside service
(Stripe today), so the status page can show when it was last reached:

    external_contact.send(sender=__name__, name="stripe", ok=True, latency_ms=180, error="")

Email outcomes are not signals: every email is a row in the outbox
(`compliance.outbox`), which records its own sends and failures.
"""

from django.dispatch import Signal

external_contact = Signal()


def external_contact_report(*, sender: str, name: str, ok: bool, latency_ms: int | None, error: str = "") -> None:
    """Send `external_contact`; a failing receiver is never the caller's problem."""
    external_contact.send_robust(sender=sender, name=name, ok=ok, latency_ms=latency_ms, error=error)
