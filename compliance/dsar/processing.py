"""Records of processing activities (GDPR art. 30): what personal data
Levqor processes, why, on what legal basis, for how long and who receives
it. Generated, not written by hand: each app's privacy provider declares
its activities (`Provider.processing`), retention periods come from the
live settings, and the processors come from one table, `PROCESSORS`, which
the public privacy notice (/privacy) lists too. `manage.py
records_of_processing --format csv|md` and Admin → Records of processing
show the result."""

import csv
import io
from dataclasses import dataclass

from django.conf import settings

from . import providers


@dataclass(frozen=True)
class Processor:
    """A supplier that handles personal data on Levqor's instructions."""

    name: str
    service: str  # what they do for us
    data: str  # what personal data they handle
    location: str
    transfer_safeguard: str  # how data leaving the UK is protected, or "" when it stays


PROCESSORS: tuple[Processor, ...] = (
    Processor(
        name="Stripe",
        service="Payment processing, subscriptions and invoices",
        data="Name, email, card and billing details, payment history",
        location="UK, EEA and United States",
        transfer_safeguard="UK IDTA / UK Addendum to the EU standard contractual clauses (Stripe's DPA)",
    ),
    Processor(
        name="Resend (email delivery)",
        service="Sending sign-in links, billing, support and service emails",
        data="Email address, message content, delivery status",
        location="United States",
        transfer_safeguard="UK Addendum to the EU standard contractual clauses (Resend's DPA)",
    ),
    Processor(
        name="Amazon Web Services S3 (file storage)",
        service="Storing data export files and attachments",
        data="Data export archives, SLA claim attachments",
        location="The configured region (eu-west-2, London, by default)",
        transfer_safeguard="",
    ),
    Processor(
        name="Cloud hosting provider",
        service="Running the application, database, task queue and backups",
        data="All data held in the service, encrypted at rest",
        location="UK or EEA",
        transfer_safeguard="",
    ),
)

CONTROLLER = "Levqor (controller); contact: the support address"
COLUMNS = (
    "activity",
    "data subjects",
    "personal data",
    "purpose",
    "legal basis",
    "retention",
    "recipients",
    "transfers outside the UK",
    "source",
)


def _retention(activity: providers.Processing) -> str:
    if activity.retention_kind:
        days = settings.LEVQOR_RETENTION_DAYS.get(activity.retention_kind)
        if days is not None:
            return f"{days} days ({activity.retention_kind}, applied daily)"
    return activity.retention


def _transfers(recipients: tuple[str, ...]) -> str:
    named = [p for p in PROCESSORS if any(r.lower().startswith(p.name.split(" ")[0].lower()) for r in recipients)]
    return "; ".join(f"{p.name}: {p.transfer_safeguard}" for p in named if p.transfer_safeguard) or "None"


def records() -> list[dict[str, str]]:
    """One row per processing activity, from every provider, in provider order."""
    rows = []
    for provider in providers.all_providers():
        for activity in provider.processing:
            rows.append(
                {
                    "activity": activity.activity,
                    "data subjects": activity.subjects,
                    "personal data": activity.data,
                    "purpose": activity.purpose,
                    "legal basis": activity.legal_basis,
                    "retention": _retention(activity),
                    "recipients": ", ".join(activity.recipients) or "Levqor staff only",
                    "transfers outside the UK": _transfers(activity.recipients),
                    "source": provider.name,
                }
            )
    return rows


def as_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def as_markdown(rows: list[dict[str, str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        "# Records of processing activities (GDPR art. 30)",
        "",
        f"Controller: {CONTROLLER}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(cell(row[c]) for c in COLUMNS) + " |" for row in rows]
    lines += [
        "",
        "## Processors",
        "",
        "| processor | service | data | location | transfer safeguard |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {p.name} | {p.service} | {p.data} | {p.location} | {p.transfer_safeguard or 'No transfer'} |"
        for p in PROCESSORS
    ]
    return "\n".join(lines) + "\n"
