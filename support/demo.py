"""Demo data for the support app: SLA credit requests in each state, customer
disputes and a chargeback. Idempotent: skipped when the demo accounts
already have support records."""

from datetime import UTC, timedelta

from django.utils import timezone

from levqor.accounts.models import Account

from . import rules, services
from .models import Dispute, SlaCreditRequest


def seed(*, admin, stdout) -> None:
    accounts = {a.name: a for a in Account.objects.filter(name__endswith="Demo Ltd")}
    growth, business, pro = (accounts.get(n) for n in ("Growth Demo Ltd", "Business Demo Ltd", "Pro Demo Ltd"))
    if not growth or not business or not pro:
        return
    if SlaCreditRequest.objects.filter(account__in=[growth, business, pro]).exists():
        stdout.write("support: demo requests already there")
        return
    today = timezone.now().astimezone(UTC).date()
    last_month = rules.add_months(today.replace(day=1), -1)
    owner = business.users.first()
    pending = services.sla_request_file(
        account=business,
        user=owner,
        plan=business.plan,
        period=rules.month_period(last_month),
        impact="major",
        description="Workflows failed for about an hour on the 12th; our order sync stopped.",
        actor=owner,
    )
    approved = services.sla_request_file(
        account=growth,
        user=growth.users.first(),
        plan=growth.plan,
        period=rules.day_period(today - timedelta(days=3)),
        impact="minor",
        description="The console was unreachable for 20 minutes in the morning.",
        actor=growth.users.first(),
    )
    services.sla_request_decide(
        request=approved,
        status="rejected",
        notes_to_customer="Our monitoring shows availability above the SLA that day, so no credit is due.",
        actor=admin,
    )
    services.sla_request_file(
        account=pro,
        user=pro.users.first(),
        plan=pro.plan,
        period=rules.month_period(last_month),
        impact="critical",
        description="Two long outages during our month-end run.",
        actor=pro.users.first(),
    )
    services.sla_request_decide(
        request=SlaCreditRequest.objects.get(account=pro),
        status="needs-more-info",
        notes_to_customer="Please send the run ids that failed and the times you saw the errors.",
        actor=admin,
    )
    dispute = services.dispute_open(
        account=growth,
        user=growth.users.first(),
        category=Dispute.Category.BILLING,
        subject="Charged twice in October",
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
    Dispute.objects.get_or_create(
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
    stdout.write(f"support: demo requests #{pending.pk}… and disputes created")
