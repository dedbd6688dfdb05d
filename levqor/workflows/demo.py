"""Demo workflows, runs and logs for every demo account that can use them.
Idempotent: a workflow the account already has (by name and mode) is not
made again, nor are its runs."""

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

LABEL = "seed_demo"

PAYLOADS = [
    {"email": "ada@example.com", "name": "Ada", "message": "Could you automate our weekly stock report?"},
    {"email": "grace@example.com", "name": "Grace", "message": "We need invoices chased automatically."},
    {"email": "alan@example.com", "name": "Alan", "message": ""},  # fails its require step
]


def _workflow(account: Account, *, sandbox: bool, name: str, admin, **definition) -> Workflow | None:
    """Create one demo workflow unless the account already has one of that
    name in that mode (deleted ones count: the demo never resurrects them)."""
    if Workflow.objects.filter(account=account, is_sandbox=sandbox, name=name).exists():
        return None
    return services.workflow_create(
        account=account, sandbox=sandbox, name=name, actor=admin, actor_label=LABEL, **definition
    )


def _seed_account(account: Account, *, admin) -> int:
    created = 0
    for sandbox in (False, True):
        lead = _workflow(
            account,
            sandbox=sandbox,
            name="Lead intake" + (" (sandbox)" if sandbox else ""),
            description="Summarise a website enquiry and file it in the CRM.",
            input_schema=LEAD_SCHEMA,
            steps=LEAD_STEPS,
            admin=admin,
        )
        if lead is None:
            continue
        created += 1
        for payload in PAYLOADS:
            run = Run.objects.create(
                workflow=lead, account=account, is_sandbox=sandbox, payload=payload, started_by=LABEL
            )
            services.run_execute(run_id=run.pk)  # inline: no queue needed for demo data
    invoice = _workflow(
        account, sandbox=False, name="Invoice reminder", input_schema=INVOICE_SCHEMA, steps=INVOICE_STEPS, admin=admin
    )
    return created + (invoice is not None)


def seed(*, admin, stdout) -> None:
    # Runs after the demo modules that create accounts (seed_demo's order),
    # so the second run finds the same accounts and creates nothing.
    writable = Account.objects.exclude(billing_state__in=["paused_billing", "canceled"]).order_by("name")
    made = sum(_seed_account(account, admin=admin) for account in writable)
    stdout.write(f"Workflows: {made} demo workflows created (with runs and logs).")
