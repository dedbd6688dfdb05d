"""Levqor's locked business facts, guarded by a system check.

Every price, SLA hour, DFY tier and the trial sentence lives here and only
here; pages, emails, admin and the API read them from this module. The facts
are sealed: `LOCKED_SEAL` is the SHA-256 of their canonical form, and the
system check `levqor.E001` fails `manage.py check` (and the test suite) the
moment any of them changes. The check (levqor/pages/checks.py) also renders
the public pricing page and fails (`levqor.E002`) if it no longer shows
every fact.

Changing a fact is a business decision, not a code change: it needs the new
value here, a new seal, and the product specification updated in the same review.
"""

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.utils.html import escape

CURRENCY = "GBP"
CURRENCY_SYMBOL = "£"


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    monthly: int  # whole pounds
    yearly: int  # whole pounds
    support_sla_hours: int  # first-response time


@dataclass(frozen=True)
class DfyTier:
    code: str
    name: str
    price: int  # whole pounds, one-off
    workflows: int
    business_days_min: int
    business_days_max: int


PLANS: tuple[Plan, ...] = (
    Plan("starter", "Starter", monthly=9, yearly=90, support_sla_hours=48),
    Plan("growth", "Growth", monthly=29, yearly=290, support_sla_hours=24),
    Plan("pro", "Pro", monthly=59, yearly=590, support_sla_hours=12),
    Plan("business", "Business", monthly=149, yearly=1490, support_sla_hours=4),
)

DFY_TIERS: tuple[DfyTier, ...] = (
    DfyTier("starter", "Starter", price=149, workflows=1, business_days_min=5, business_days_max=7),
    DfyTier("pro", "Pro", price=299, workflows=3, business_days_min=10, business_days_max=14),
    DfyTier("enterprise", "Enterprise", price=499, workflows=7, business_days_min=21, business_days_max=28),
)

MONEY_BACK_DAYS = 14

# Verbatim wherever a trial is mentioned.
TRIAL_TEXT = "7-day free trial • Card required • Cancel before Day 7 to avoid charges"
TRIAL_DAYS = 7

LOCKED_SEAL = "e6e23e72511eef8849442b2156984bd8b9ebe2c6e2b974c1e6003560373e4227"

PLAN_CHOICES = [(plan.code, plan.name) for plan in PLANS]
_BY_CODE = {plan.code: plan for plan in PLANS}


def plan_by_code(code: str) -> Plan:
    try:
        return _BY_CODE[code]
    except KeyError:
        raise ValueError(f"Unknown plan {code!r}; plans are {', '.join(_BY_CODE)}.") from None


def gbp(amount: int | Decimal) -> str:
    """Format whole pounds the way every page shows them: £9, £1490."""
    return f"{CURRENCY_SYMBOL}{amount}"


def dfy_timeline(tier: DfyTier) -> str:
    return f"{tier.business_days_min}–{tier.business_days_max} business days"


def sla_text(plan: Plan) -> str:
    return f"{plan.support_sla_hours} h"


def canonical_facts() -> str:
    """The facts as one canonical JSON string: what the seal covers."""
    facts = {
        "currency": CURRENCY,
        "plans": [asdict(plan) for plan in PLANS],
        "dfy_tiers": [asdict(tier) for tier in DFY_TIERS],
        "money_back_days": MONEY_BACK_DAYS,
        "trial_text": TRIAL_TEXT,
    }
    return json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def facts_fingerprint() -> str:
    return hashlib.sha256(canonical_facts().encode()).hexdigest()


def expected_on_pricing_page() -> dict[str, list[str]]:
    """What the pricing page must show, per section (`data-fact` blocks)."""
    expected: dict[str, list[str]] = {}
    for plan in PLANS:
        expected[f"plan-{plan.code}"] = [plan.name, gbp(plan.monthly), gbp(plan.yearly), sla_text(plan)]
    for tier in DFY_TIERS:
        expected[f"dfy-{tier.code}"] = [
            tier.name,
            gbp(tier.price),
            f"{tier.workflows} workflow",
            dfy_timeline(tier),
        ]
    expected["trial"] = [TRIAL_TEXT]
    expected["money-back"] = [f"{MONEY_BACK_DAYS}-day money-back guarantee"]
    return expected


_SECTION = re.compile(r'<(?P<tag>[a-z0-9]+)[^>]*\bdata-fact="(?P<key>[a-z0-9-]+)"[^>]*>(?P<body>.*?)</(?P=tag)>', re.S)
_TAGS = re.compile(r"<[^>]+>")


def missing_from_page(html: str) -> list[str]:
    """Each expected fact the rendered page fails to show in its section."""
    sections: dict[str, str] = {}
    for match in _SECTION.finditer(html):
        text = " ".join(_TAGS.sub(" ", match["body"]).split())
        sections[match["key"]] = sections.get(match["key"], "") + " " + text
    missing = []
    for key, facts in expected_on_pricing_page().items():
        if key not in sections:
            missing.append(f'section data-fact="{key}" is missing')
            continue
        for fact in facts:
            if fact not in sections[key] and escape(fact) not in sections[key]:
                missing.append(f'"{fact}" not shown in section {key}')
    return missing
