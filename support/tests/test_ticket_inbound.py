"""Replies by email join their ticket: through anymail's inbound signal, as
Resend's receiving webhook sends it."""

import pytest
from anymail.inbound import AnymailInboundMessage
from anymail.signals import AnymailInboundEvent, EventType, inbound
from django.core import mail

from compliance.models import OutboundEmail
from compliance.outbox.services import email_deliver
from support import services
from support.inbound import reply_text
from support.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(settings, customer_account, customer):
    settings.LEVQOR_SUPPORT_INBOUND_DOMAIN = "reply.levqor.test"
    return services.ticket_open(account=customer_account, user=customer, subject="Help", body="First.", actor=customer)


def _receive(**fields) -> None:
    message = AnymailInboundMessage.construct(**fields)
    event = AnymailInboundEvent(event_type=EventType.INBOUND, event_id="msg_1", message=message)
    inbound.send(sender=object, event=event, esp_name="Resend")


def test_it_sets_a_reply_to_address_with_the_tickets_token(ticket, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for email in OutboundEmail.objects.filter(template="support-ticket-opened"):
            email_deliver(email_id=email.pk)
    [sent] = [m for m in mail.outbox if "support-ticket-opened" in m.tags]
    assert sent.extra_headers["Reply-To"] == f"support+t{ticket.pk}.{ticket.reply_token}@reply.levqor.test"


def test_it_adds_an_emailed_reply_once_and_opens_the_ticket_again(ticket, customer, staff):
    services.ticket_reply(ticket=ticket, body="Try again?", actor=staff)
    fields = {
        "from_email": f"Olive <{customer.email.upper()}>",
        "to": services.reply_address(ticket),
        "subject": "Re: Help",
        "text": "Still broken.\n\nOn Mon, 30 Nov 2026, Levqor wrote:\n> Try again?\n",
        "headers": {"Message-ID": "<abc@mail.acme.test>"},
    }
    _receive(**fields)
    _receive(**fields)  # delivered twice by the provider
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    emailed = ticket.messages.filter(via="email")
    assert [m.body for m in emailed] == ["Still broken."] and emailed.get().author == customer


@pytest.mark.parametrize(
    "change",
    [
        {"from_email": "someone@other.test"},  # not a user of the account
        {"to": "support+t1.00000000000000000000000000000000@reply.levqor.test"},  # wrong token
        {"to": "support@reply.levqor.test"},  # no ticket named
    ],
)
def test_it_ignores_mail_that_does_not_prove_it_belongs(ticket, customer, change):
    fields = {"from_email": customer.email, "to": services.reply_address(ticket), "text": "Hello"}
    _receive(**{**fields, **change})
    assert ticket.messages.filter(via="email").count() == 0


def test_it_keeps_only_the_new_part_of_a_reply():
    assert reply_text("Thanks!\n> old\n> older") == "Thanks!"
    assert reply_text("No quote here.") == "No quote here."
