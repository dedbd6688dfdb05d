"""High-risk data screening for workflow definitions and run payloads.

Rules are data (`ScreeningRule`): keywords or regular expressions tagged
medical / legal / financial and critical / high / medium / low. A critical
finding blocks the submission with a reason and an appeal link; the others
are reported (and may be shown as warnings) but allowed.

    result = screening.screen_payload(account=account, kind="workflow_definition", payload=data)
    if result.blocked:
        block = screening.record_block(account=account, kind=..., result=result, actor=request.user)
        -> refuse with result.reason and block's appeal URL

`screening_check()` is pure: text or JSON in, findings out.
"""

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from . import audit
from .models import ScreeningAppeal, ScreeningBlock, ScreeningRule, Severity
from .outbox.services import email_queue

logger = logging.getLogger(__name__)

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
# Limits that keep a pathological payload from tying up a worker. Anything
# beyond them is refused as unscreenable, never passed unscreened: otherwise
# padding a payload would be a way around the screen.
MAX_SCAN_CHARS = 1_000_000
MAX_DEPTH = 64


class Unscreenable(Exception):
    """The payload is too large or too deeply nested to screen completely."""


@dataclass(frozen=True)
class Rule:
    name: str
    category: str
    kind: str  # "keyword" | "pattern"
    pattern: str
    severity: str
    description: str


# Card numbers of the major schemes, with optional spaces or dashes.
_CARD_NUMBER = r"\b(?:4\d{3}|5[1-5]\d{2}|2[2-7]\d{2}|3[47]\d{2}|6011)(?:[ -]?\d{4}){2}[ -]?\d{1,4}\b"

# The defaults `ensure_default_rules()` installs. Staff tune them in Admin.
DEFAULT_RULES: tuple[Rule, ...] = (
    # Medical
    Rule("medical-diagnosis", "medical", "keyword", "diagnosis|diagnosed|prognosis", "critical",
         "Medical diagnoses are special-category health data."),
    Rule("medical-conditions", "medical", "keyword",
         "hiv|cancer|diabetes|schizophrenia|depression|pregnancy|chemotherapy", "critical",
         "Named health conditions are special-category health data."),
    Rule("medical-nhs-number", "medical", "pattern", r"\bNHS\s*(?:no\.?|number)?\s*:?\s*\d{3}\s?\d{3}\s?\d{4}\b",
         "critical", "NHS numbers identify patients."),
    Rule("medical-prescription", "medical", "keyword", "prescription|medication|dosage", "high",
         "Prescriptions and medication suggest health data."),
    Rule("medical-patient", "medical", "keyword", "patient|clinical|symptoms", "medium",
         "Patient or clinical wording suggests health data."),
    # Legal
    Rule("legal-criminal-record", "legal", "keyword", "criminal record|conviction|convicted|offence history",
         "critical", "Criminal convictions and offences are restricted data."),
    Rule("legal-privileged", "legal", "keyword", "legal advice|privileged|without prejudice", "high",
         "Legally privileged material needs a human decision."),
    Rule("legal-case", "legal", "keyword", "lawsuit|litigation|court case|tribunal", "medium",
         "Legal proceedings suggest sensitive data."),
    Rule("legal-contract", "legal", "keyword", "contract|agreement", "low",
         "Contracts may contain personal data."),
    # Financial
    Rule("financial-card-number", "financial", "pattern", _CARD_NUMBER, "critical",
         "Full payment card numbers must never be processed by workflows."),
    Rule("financial-card-security-code", "financial", "keyword", "cvv|cvc|card security code", "critical",
         "Card security codes must never be stored or processed."),
    Rule("financial-iban", "financial", "pattern", r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}(?:\s?[A-Z0-9]{1,3})?\b",
         "high", "Bank account numbers (IBAN) are sensitive financial data."),
    Rule("financial-uk-bank-account", "financial", "pattern", r"\b\d{2}-\d{2}-\d{2}\s+\d{8}\b", "high",
         "UK sort code and account number."),
    Rule("financial-credit-decision", "financial", "keyword", "credit score|loan approval|creditworthiness", "high",
         "Automated credit decisions need human oversight."),
    Rule("financial-salary", "financial", "keyword", "salary|payslip|income", "low",
         "Income details are personal financial data."),
)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    rule: str
    category: str
    severity: str
    description: str
    path: str  # where in the payload ("$.steps[2].prompt"); never the matched text

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "category": self.category,
            "severity": self.severity,
            "description": self.description,
            "path": self.path,
        }


@dataclass(frozen=True)
class ScreeningResult:
    blocked: bool
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    fingerprint: str = ""
    allowed_on_appeal: bool = False

    @property
    def highest_severity(self) -> str | None:
        return self.findings[0].severity if self.findings else None


# --- the pure check ----------------------------------------------------------------


def _compile(rule: Rule) -> re.Pattern | None:
    try:
        if rule.kind == "keyword":
            words = [re.escape(word.strip()).replace(r"\ ", r"\s+") for word in rule.pattern.split("|") if word.strip()]
            return re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE)
        return re.compile(rule.pattern)
    except re.error:
        logger.error("screening rule %s has an invalid pattern; skipped", rule.name)
        return None


def _strings(value, path: str = "$", depth: int = 0) -> Iterable[tuple[str, str]]:
    """Every string in a JSON value (keys too), with its path."""
    if depth > MAX_DEPTH:
        raise Unscreenable(f"it is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", str(key)
            yield from _strings(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]", depth + 1)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, str(value)


def screening_check(text_or_json, *, rules: Iterable[Rule]) -> list[Finding]:
    """Findings for a text or JSON value, most severe first, one per (rule,
    path). Pure: no database, no side effects. Raises `Unscreenable` for a
    value past the size or depth limits."""
    compiled = [(rule, _compile(rule)) for rule in rules]
    findings: dict[tuple[str, str], Finding] = {}
    budget = MAX_SCAN_CHARS
    for path, text in _strings(text_or_json):
        budget -= len(text)
        if budget < 0:
            raise Unscreenable(f"it holds more than {MAX_SCAN_CHARS:,} characters of text")
        for rule, pattern in compiled:
            if pattern is not None and (rule.name, path) not in findings and pattern.search(text):
                findings[(rule.name, path)] = Finding(rule.name, rule.category, rule.severity, rule.description, path)
    return sorted(findings.values(), key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.path, f.rule))


def fingerprint(payload) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def reason_for(findings: list[Finding]) -> str:
    critical = [f for f in findings if f.severity == Severity.CRITICAL]
    if not critical:
        return ""
    categories = sorted({f.category for f in critical})
    first = critical[0]
    return (
        f"Refused: it appears to contain high-risk {' and '.join(categories)} data "
        f"({first.description.rstrip('.')}, at {first.path}). "
        "Remove it, or appeal if this is a mistake."
    )


# --- rules as data --------------------------------------------------------------------


def active_rules() -> list[Rule]:
    return [
        Rule(r.name, r.category, r.kind, r.pattern, r.severity, r.description)
        for r in ScreeningRule.objects.filter(is_active=True)
    ]


@transaction.atomic
def ensure_default_rules() -> int:
    """Add any default rule that is missing (by name). Never overwrites a rule
    staff edited or switched off. Returns how many were added; safe to run twice."""
    existing = set(ScreeningRule.objects.values_list("name", flat=True))
    missing = [rule for rule in DEFAULT_RULES if rule.name not in existing]
    ScreeningRule.objects.bulk_create(
        [
            ScreeningRule(
                name=r.name,
                category=r.category,
                kind=r.kind,
                pattern=r.pattern,
                severity=r.severity,
                description=r.description,
            )
            for r in missing
        ],
        ignore_conflicts=True,
    )
    return len(missing)


# --- what other apps call -----------------------------------------------------------


def screen_payload(*, account, kind: str, payload) -> ScreeningResult:
    """Screen a workflow definition or run payload for `account`. Never
    raises. A payload too large or too deep to screen completely is refused
    (padding must not be a way around the screen); if screening itself
    breaks (a bad rule), the submission is allowed and the error logged, so
    a broken rule cannot take the product down. A payload staff allowed on
    appeal for this account is not blocked again."""
    try:
        try:
            findings = screening_check(payload, rules=active_rules())
            reason = reason_for(findings)
        except Unscreenable as exc:
            findings = []
            reason = (
                f"Refused: {exc}, which is more than we can screen for high-risk data. "
                "Send it in smaller parts, or appeal if it must be this size."
            )
        try:
            digest = fingerprint(payload)
        except (RecursionError, ValueError):
            digest = ""
        if not reason:
            return ScreeningResult(False, "", findings, digest)
        if ScreeningBlock.objects.filter(
            account_id=account.pk, fingerprint=digest, status=ScreeningBlock.Status.ALLOWED
        ).exists():
            return ScreeningResult(False, "", findings, digest, allowed_on_appeal=True)
        return ScreeningResult(True, reason, findings, digest)
    except Exception:
        logger.exception("screening failed for %s; allowed unscreened", kind)
        return ScreeningResult(False, "", [], "")


@transaction.atomic
def record_block(*, account, kind: str, result: ScreeningResult, actor) -> ScreeningBlock:
    """Store a refusal (no payload, only its fingerprint and the findings) and
    audit it. Call it when `result.blocked`; the block's `appeal_url` is what
    the customer follows to appeal."""
    if not result.blocked:
        raise ValueError("Only a blocked result is recorded.")
    block = ScreeningBlock.objects.create(
        account_id=account.pk,
        account_label=str(account)[:200],
        kind=kind,
        fingerprint=result.fingerprint,
        reason=result.reason[:500],
        findings=[f.as_dict() for f in result.findings],
    )
    audit.record(
        actor=actor,
        action="screening.blocked",
        target=block,
        details={"kind": kind, "rules": sorted({f.rule for f in result.findings if f.severity == "critical"})},
    )
    return block


def screen_and_record(*, account, kind: str, payload, actor) -> tuple[ScreeningResult, ScreeningBlock | None]:
    """`screen_payload`, then `record_block` if it is blocked. Call it before
    (outside) the transaction that would create the workflow or run, so the
    block is kept when that creation is refused. Never raises."""
    result = screen_payload(account=account, kind=kind, payload=payload)
    if not result.blocked:
        return result, None
    try:
        return result, record_block(account=account, kind=kind, result=result, actor=actor)
    except Exception:
        logger.exception("could not record a screening block for %s", kind)
        return result, None


def refusal_details(result: ScreeningResult, block: ScreeningBlock | None) -> dict:
    """What an API error or a page shows for a refusal: reason, findings
    (paths, never the data) and where to appeal."""
    return {
        "reason": result.reason,
        "findings": [f.as_dict() for f in result.findings],
        "block_id": block.pk if block else None,
        "appeal_url": appeal_url(block) if block else None,
        "policy_url": settings.LEVQOR_BASE_URL + reverse("compliance:high_risk_data"),
    }


def appeal_url(block: ScreeningBlock) -> str:
    return settings.LEVQOR_BASE_URL + reverse("compliance:screening_appeal", args=[block.pk])


def blocks_for_account(*, account_id: int):
    return ScreeningBlock.objects.filter(account_id=account_id)


@transaction.atomic
def appeal_submit(*, block: ScreeningBlock, user, explanation: str) -> ScreeningAppeal | None:
    """The customer appeals a block. One appeal per block: returns None if it
    was already appealed (the first one stands)."""
    explanation = explanation.strip()
    if not explanation:
        raise ValueError("Explain why this data is not high-risk, or why you need to process it.")
    changed = ScreeningBlock.objects.filter(pk=block.pk, status=ScreeningBlock.Status.BLOCKED).update(
        status=ScreeningBlock.Status.APPEALED
    )
    if not changed:
        return None
    appeal = ScreeningAppeal.objects.create(block=block, submitted_by=user, explanation=explanation)
    audit.record(actor=user, action="screening.appealed", target=block, details={})
    return appeal


@transaction.atomic
def appeal_decide(*, appeal: ScreeningAppeal, approve: bool, note: str = "", actor) -> bool:
    """Staff decide a pending appeal. Approving lets the same payload through
    for that account from now on. Returns False if it was already decided."""
    status = ScreeningAppeal.Status.APPROVED if approve else ScreeningAppeal.Status.REJECTED
    changed = ScreeningAppeal.objects.filter(pk=appeal.pk, status=ScreeningAppeal.Status.PENDING).update(
        status=status, decided_by=actor, decided_at=timezone.now(), decision_note=note
    )
    if not changed:
        return False
    ScreeningBlock.objects.filter(pk=appeal.block_id).update(
        status=ScreeningBlock.Status.ALLOWED if approve else ScreeningBlock.Status.UPHELD
    )
    appeal.refresh_from_db()
    audit.record(actor=actor, action=f"screening.appeal_{status}", target=appeal.block, details={"note": note})
    email_queue(
        kind="compliance.appeal-decided",
        about=appeal,
        template="screening-appeal-decided",
        to=appeal.submitted_by.email,
        context={"what": appeal.block.kind.replace("_", " "), "approved": approve},
        objects={"appeal": appeal, "block": appeal.block},
    )
    return True


def screening_counts(*, since=None) -> dict:
    blocks = ScreeningBlock.objects.all()
    if since is not None:
        blocks = blocks.filter(created_at__gte=since)
    return {
        "blocks": blocks.count(),
        "appeals_pending": ScreeningAppeal.objects.filter(status=ScreeningAppeal.Status.PENDING).count(),
        "appeals_approved": ScreeningAppeal.objects.filter(status=ScreeningAppeal.Status.APPROVED).count(),
        "appeals_rejected": ScreeningAppeal.objects.filter(status=ScreeningAppeal.Status.REJECTED).count(),
    }
