"""Demo workflows, runs and logs for every demo account that can use them.
Idempotent: an account that already has workflows is left alone."""

from levqor.accounts.models import Account

from . import services
from .models import Run, Workflow

LEAD_SCHEMA = {
    "type": "object",
    "required": ["email", "message"],
    "properties": {
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string", "maxLength": 200},
        "message": {"type": "string", "minLength": 1, "maxLength": 5000},
    },
}
LEAD_STEPS = [
    {"type": "require", "name": "check", "fields": ["email", "message"]},
    {"type": "llm_mock", "name": "summarise", "prompt": "Summarise this enquiry from {{name}}: {{message}}"},
    {
        "type": "transform",
        "name": "ticket",
        "set": {"title": "Enquiry from {{email}}", "summary": "{{summarise.text}}"},
    },
    {"type": "http_mock", "name": "crm", "url": "https://crm.example.com/api/leads", "method": "POST"},
]
INVOICE_SCHEMA = {
    "type": "object",
    "required": ["invoice_number", "amount"],
    "properties": {"invoice_number": {"type": "string"}, "amount": {"type": "number", "minimum": 0}},
}
INVOICE_STEPS = [
    {"type": "transform", "name": "reminder", "set": {"subject": "Invoice {{invoice_number}}: £{{amount}} due"}},
    {"type": "http_mock", "name": "send", "url": "https://mail.example.com/send"},
]

PAYLOADS = [
    {"email": "ada@example.com", "name": "Ada", "message": "Could you automate our weekly stock report?"},
    {"email": "grace@example.com", "name": "Grace", "message": "We need invoices chased automatically."},
    {"email": "alan@example.com", "name": "Alan", "message": ""},  # fails its require step
]


def _seed_account(account: Account, *, admin) -> int:
    label = "seed_demo"
    created = 0
    for sandbox in (False, True):
        lead = services.workflow_create(
            account=account,
            sandbox=sandbox,
            name="Lead intake" + (" (sandbox)" if sandbox else ""),
            description="Summarise a website enquiry and file it in the CRM.",
            input_schema=LEAD_SCHEMA,
            steps=LEAD_STEPS,
            actor=admin,
            actor_label=label,
        )
        created += 1
        for payload in PAYLOADS:
            run = Run.objects.create(
                workflow=lead, account=account, is_sandbox=sandbox, payload=payload, started_by=label
            )
            services.run_execute(run_id=run.pk)  # inline: no queue needed for demo data
    services.workflow_create(
        account=account,
        sandbox=False,
        name="Invoice reminder",
        input_schema=INVOICE_SCHEMA,
        steps=INVOICE_STEPS,
        actor=admin,
        actor_label=label,
    )
    return created + 1


def seed(*, admin, stdout) -> None:
    writable = Account.objects.exclude(billing_state__in=["paused_billing", "canceled"])
    made = 0
    for account in writable:
        if Workflow.objects.filter(account=account).exists():
            continue
        made += _seed_account(account, admin=admin)
    stdout.write(f"Workflows: {made} demo workflows created (with runs and logs).")
