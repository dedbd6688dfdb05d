"""The compliance dashboard's figures (staff only, in Admin).

Other parts of compliance that are built separately (the DSAR exports)
add their figures with `register_section()`, so this module does not need
to know their tables.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from . import abuse, audit, consent, lockout, marketing, objections, screening, terms
from .models import Objection


@dataclass(frozen=True)
class Row:
    label: str
    value: object
    attention: bool = False


_sections: dict[str, Callable[[], list[Row]]] = {}


def register_section(title: str, rows: Callable[[], list[Row]]) -> None:
    """Add (or replace) a section, e.g. "DSAR backlog", computed on each view."""
    _sections[title] = rows


def dashboard_data(*, verify_chain: bool = True) -> list[tuple[str, list[Row]]]:
    now = timezone.now()
    rate = terms.terms_acceptance_rate()
    cookie = consent.consent_counts()
    mkt = marketing.marketing_counts()
    objected = objections.objection_counts()
    screened = screening.screening_counts(since=now - timedelta(days=30))
    signals = abuse.abuse_signal_counts(since=now - timedelta(hours=24))
    sections = [
        (
            "Terms of service",
            [
                Row("Current version", rate["version"] or "none published"),
                Row("Customers who accepted it", f"{rate['accepted']} of {rate['total']}"),
                Row("Acceptance rate", f"{rate['rate']}%" if rate["rate"] is not None else "—"),
            ],
        ),
        (
            "Cookie consent (latest choice per visitor)",
            [
                Row("Visitors who chose", cookie["total"]),
                Row("Functional allowed", cookie["functional"]),
                Row("Analytics allowed", cookie["analytics"]),
                Row("Marketing allowed", cookie["marketing"]),
                Row("Rejected all optional cookies", cookie["rejected_all"]),
            ],
        ),
        (
            "Marketing email",
            [
                Row("Confirmed", mkt["confirmed"]),
                Row("Pending confirmation", mkt["pending"]),
                Row("Unsubscribed", mkt["unsubscribed"]),
            ],
        ),
        ("Objections in force", [Row(label, objected[kind]) for kind, label in _objection_labels()]),
        (
            "High-risk data screening (last 30 days)",
            [
                Row("Submissions blocked", screened["blocks"]),
                Row("Appeals awaiting review", screened["appeals_pending"], attention=screened["appeals_pending"] > 0),
                Row("Appeals approved (all time)", screened["appeals_approved"]),
                Row("Appeals rejected (all time)", screened["appeals_rejected"]),
            ],
        ),
        (
            "Security (last 24 hours)",
            [
                Row("Clients locked out now", lockout.locked_out_count(now=now)),
                *[Row(f"Abuse signals: {kind.replace('_', ' ')}", n, attention=n > 0) for kind, n in signals.items()],
            ],
        ),
    ]
    for title, rows in _sections.items():
        sections.append((title, rows()))
    if not any(title.startswith("DSAR") for title in _sections):
        sections.append(("DSAR backlog and deadlines", [Row("Data export requests", "not tracked yet")]))
    if verify_chain:
        result = audit.verify()
        sections.append(("Audit trail", [Row("Hash chain", result.describe(), attention=not result.ok)]))
    return sections


def _objection_labels():
    return Objection.Kind.choices
