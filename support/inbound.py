"""Replies by email join their ticket's thread.

Resend receives mail for `LEVQOR_SUPPORT_INBOUND_DOMAIN` and posts it to
anymail's inbound webhook (`/anymail/resend/inbound/`, Svix-signed with
`RESEND_INBOUND_SECRET`; https://anymail.dev/en/stable/esps/resend/#inbound),
which sends anymail's `inbound` signal. The ticket is named by the Reply-To
our emails carry (support+t<id>.<token>@…): the token must match, and the
sender must be an active user of the ticket's account; anything else is
logged and dropped (never an error: the provider would retry it forever).
The Message-ID makes a redelivered email join once.
"""

import logging
import re

from anymail.signals import inbound
from django.core.exceptions import ValidationError
from django.dispatch import receiver

from levqor.accounts.models import User

from . import services
from .models import Ticket

logger = logging.getLogger(__name__)

ADDRESS = re.compile(r"\+t(?P<id>\d{1,12})\.(?P<token>[0-9a-f]{32})@", re.I)
# Quoted history below a reply: "On <date>, <someone> wrote:" or a "> " block.
QUOTED = re.compile(r"^(On .{0,200}wrote:\s*$|>)", re.M)


def _ticket_for(addresses: list[str]) -> Ticket | None:
    for address in addresses:
        match = ADDRESS.search(address)
        if match:
            found = Ticket.objects.filter(pk=int(match["id"]), reply_token=match["token"].lower()).first()
            if found is not None:
                return found
    return None


def reply_text(text: str) -> str:
    """The new part of an emailed reply: the text above the quoted history."""
    match = QUOTED.search(text or "")
    return (text[: match.start()] if match else text or "").strip()


def ticket_inbound_email(message) -> str:
    """Apply one inbound email (an AnymailInboundMessage); returns what happened. Safe to run twice."""
    addresses = [a.addr_spec for a in (message.to or [])] + [a.addr_spec for a in (message.cc or [])]
    ticket = _ticket_for(addresses)
    if ticket is None:
        return "ignored: no ticket address"
    sender = (message.from_email.addr_spec if message.from_email else "").strip()
    user = User.objects.filter(email__iexact=sender, account_id=ticket.account_id, is_active=True).first()
    if user is None:
        return "ignored: sender is not a user of the ticket's account"
    body = reply_text(message.text or "")
    message_id = (message.get("Message-ID") or "").strip()[:255] or None
    try:
        added = services.ticket_customer_reply(
            ticket=ticket, user=user, body=body, via="email", email_message_id=message_id, actor=user
        )
    except ValidationError as exc:
        return f"ignored: {'; '.join(exc.messages)}"
    return f"added to ticket #{ticket.pk}" if added else "ignored: seen before"


@receiver(inbound, dispatch_uid="support.ticket_inbound")
def on_inbound(sender, event, esp_name, **kwargs):
    if event.message is None:
        return
    outcome = ticket_inbound_email(event.message)
    logger.info("inbound email %s: %s", event.event_id, outcome)
