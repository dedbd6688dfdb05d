"""Demo data for the support app: tickets around their first-response
deadline, canned replies, a DFY order being built, SLA credit requests in each state, customer
disputes and a chargeback. Idempotent for every object: each is looked up by
its account and text before it is made, so running `seed_demo` again (or
after deleting some of them) creates only what is missing."""

from datetime import UTC, timedelta

from django.utils import timezone

from levqor.accounts.models import Account

from . import rules, services
from .models import CannedReply, DfyOrder, Dispute, SlaCreditRequest, Ticket

PENDING = "Workflows failed for about an hour on the 12th; our order sync stopped."
REJECTED = "The console was unreachable for 20 minutes in the morning."
MORE_INFO = "Two long outages during our month-end run."
DISPUTE = "Charged twice in October"


def _request(*, account, period, impact, description) -> tuple[SlaCreditRequest, bool]:
    found = SlaCreditRequest.objects.filter(account=account, description=description).first()
    if found:
        return found, False
    owner = account.users.order_by("date_joined", "pk").first()
    filed = services.sla_request_file(
        account=account,
        user=owner,
        plan=account.plan,
        period=period,
        impact=impact,
        description=description,
        actor=owner,
    )
    return filed, True


def seed(*, admin, stdout) -> None:
    accounts = {a.name: a for a in Account.objects.filter(name__endswith="Demo Ltd")}
    growth, business, pro = (accounts.get(n) for n in ("Growth Demo Ltd", "Business Demo Ltd", "Pro Demo Ltd"))
    if not growth or not business or not pro:
        return
    today = timezone.now().astimezone(UTC).date()
    last_month = rules.month_period(rules.add_months(today.replace(day=1), -1))
    made = []

    _pending, created = _request(account=business, period=last_month, impact="major", description=PENDING)
    made += ["pending SLA request"] if created else []

    rejected, created = _request(
        account=growth, period=rules.day_period(today - timedelta(days=3)), impact="minor", description=REJECTED
    )
    if created:
        services.sla_request_decide(
            request=rejected,
            status="rejected",
            notes_to_customer="Our monitoring shows availability above the SLA that day, so no credit is due.",
            actor=admin,
        )
        made.append("rejected SLA request")

    more_info, created = _request(account=pro, period=last_month, impact="critical", description=MORE_INFO)
    if created:
        services.sla_request_decide(
            request=more_info,
            status="needs-more-info",
            notes_to_customer="Please send the run ids that failed and the times you saw the errors.",
            actor=admin,
        )
        made.append("needs-more-info SLA request")

    if not Dispute.objects.filter(account=growth, source=Dispute.Source.CUSTOMER, subject=DISPUTE).exists():
        dispute = services.dispute_open(
            account=growth,
            user=growth.users.first(),
            category=Dispute.Category.BILLING,
            subject=DISPUTE,
            description="Two charges of £29 on the same day.",
            actor=growth.users.first(),
        )
        services.dispute_update(
            dispute=dispute,
            status="in-review",
            reply="Thanks, we can see both charges and are checking with Stripe.",
            internal_note="Looks like a retried invoice; check the payment intents.",
            actor=admin,
        )
        made.append("customer dispute")

    _chargeback, created = Dispute.objects.get_or_create(
        stripe_dispute_id="dp_demo_chargeback",
        defaults={
            "source": Dispute.Source.CHARGEBACK,
            "account": business,
            "category": Dispute.Category.BILLING,
            "subject": "Chargeback £149.00: fraudulent",
            "amount_minor": 14900,
            "currency": "GBP",
            "reason": "fraudulent",
            "stripe_status": "needs_response",
            "evidence_due_by": timezone.now() + timedelta(days=2),
        },
    )
    made += ["chargeback"] if created else []
    made += _tickets(growth=growth, business=business, admin=admin)
    if not DfyOrder.objects.filter(account=pro).exists():
        order = services.dfy_order_create(account=pro, tier="pro", actor=admin)
        for step in services.DFY_STEPS:
            services.dfy_order_step(order=order, step=step, actor=admin)
        made.append("DFY order")
    stdout.write(f"support: created {', '.join(made)}" if made else "support: demo data already there")


TICKETS = (
    # (account key, subject, body, hours ago opened, staff reply)
    ("business", "Webhook step times out", "Our CRM webhook step times out since this morning.", 3.5, ""),
    ("business", "Invite a colleague", "How do I add a second user to our account?", 6, ""),
    ("growth", "Export runs to CSV", "Can we export last month's runs?", 30, "Yes: Workflows → Runs → Export."),
)


def _tickets(*, growth, business, admin) -> list[str]:
    """A ticket near its first-response deadline, one breached, one answered; two canned replies."""
    made = []
    for title, body in (
        ("Thanks, looking into it", "Thanks for getting in touch: we are looking into it and will update you here."),
        ("Closing: no reply", "We have not heard back, so we are closing this ticket. Reply to open it again."),
    ):
        _reply, created = CannedReply.objects.get_or_create(title=title, defaults={"body": body})
        made += [f"canned reply {title!r}"] if created else []
    accounts = {"growth": growth, "business": business}
    for key, subject, body, hours, reply in TICKETS:
        account = accounts[key]
        if Ticket.objects.filter(account=account, subject=subject).exists():
            continue
        owner = account.users.order_by("date_joined", "pk").first()
        ticket = services.ticket_open(
            account=account,
            user=owner,
            subject=subject,
            body=body,
            actor=owner,
            now=timezone.now() - timedelta(hours=hours),
        )
        if reply:
            services.ticket_reply(ticket=ticket, body=reply, actor=admin)
        made.append(f"ticket {subject!r}")
    return made
