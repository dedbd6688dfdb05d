"""What the assistant knows, built from the product's own sources: the
/api-docs endpoint list and error table, the step catalogue, the quota table
and the locked business facts. Nothing is copied by hand, so when one of
those changes, the assistant's answers change with it.

`search(query)` ranks passages by the query words they share (weighted by
how rare each word is across the passages): deterministic, offline, fast.
"""

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

from levqor import plans
from levqor.api import docs as api_docs
from levqor.api import quotas
from levqor.api.errors import ERROR_CODES
from levqor.workflows.serializers import STEP_FIELDS
from levqor.workflows.steps import MAX_DELAY_SECONDS, MAX_STEPS


@dataclass(frozen=True)
class Passage:
    title: str
    text: str
    steps: tuple[str, ...] = ()
    source: str = ""  # where a person reads more: a path on this site


STEP_PURPOSE = {
    "transform": "sets output values from text templates; `{{field}}` or `{{step_name.field}}` fill in values",
    "delay": f"waits a number of seconds (0–{MAX_DELAY_SECONDS}); sandbox runs skip the wait",
    "http_mock": "simulates an HTTP call to a URL (no network), answering 200 with an echo of the data",
    "llm_mock": "simulates a language-model call on a prompt and returns a short summary with token counts",
    "require": "fails the run unless every named field is present and not empty",
}
assert set(STEP_PURPOSE) == set(STEP_FIELDS)


def _guides() -> list[Passage]:
    cheapest = plans.PLANS[0]
    trial = plans.TRIAL_TEXT
    quota_text = "; ".join(
        f"{row['label']}: {'unlimited' if row['limit'] is None else format(row['limit'], ',')} calls"
        for row in quotas.quota_table()
    )
    price_text = "; ".join(
        f"{p.name} {plans.gbp(p.monthly)} a month or {plans.gbp(p.yearly)} a year, "
        f"first support response within {plans.sla_text(p)}"
        for p in plans.PLANS
    )
    dfy_text = "; ".join(
        f"{t.name} {plans.gbp(t.price)} for {t.workflows} workflow{'s' if t.workflows > 1 else ''} "
        f"in {plans.dfy_timeline(t)}"
        for t in plans.DFY_TIERS
    )
    return [
        Passage(
            "Get started with the API",
            "Create a sandbox key (lvq_test_…) on /account/api-keys, create a workflow with POST /api/workflows, "
            "then start a run with POST /api/workflows/{id}/runs. Sandbox runs finish before the response and "
            "never bill.",
            (
                "Open /account/api-keys and create a sandbox key.",
                "POST /api/workflows with a name and at least one step.",
                "POST /api/workflows/{id}/runs with a payload that matches the workflow's input_schema.",
                "Read GET /api/runs/{id}/logs to see what each step did.",
            ),
            "/api-docs",
        ),
        Passage(
            "API keys, rotation and revocation",
            "Send a key as X-Api-Key or Authorization: Bearer. A key is shown once; only its hash is kept. "
            "Rotating issues a new key and keeps the old one working for an overlap window so clients switch "
            "without downtime; revoking stops a key at once (401 api_key_revoked).",
            (
                "Open /account/api-keys.",
                "Choose Rotate and an overlap, deploy the new key, then let the old one expire.",
            ),
            "/account/api-keys",
        ),
        Passage(
            "Quotas and rate limits",
            f"Calls a month per account: {quota_text}. Sandbox keys share the sandbox quota; live keys share the "
            "plan's. Past the quota the API answers 429 quota_exceeded with the reset time; short bursts past the "
            "per-key or per-IP limit answer 429 rate_limited with Retry-After. Months are calendar months in UTC.",
            ("Read GET /api/usage for calls used and left per key and for the account, and the reset time.",),
            "/api-docs#rate-limits",
        ),
        Passage(
            "Sandbox and live modes",
            "Sandbox keys see only sandbox workflows and runs; live keys see only live data. Sandbox runs execute "
            "instantly and their cost is simulated, never billed. Anything of the other mode is 404.",
            ("Build and test with a sandbox key, then recreate the workflow with a live key.",),
            "/api-docs",
        ),
        Passage(
            "Workflow steps",
            f"A workflow has 1 to {MAX_STEPS} steps, run in order, each with a type and a unique lower-case name. "
            + " ".join(f"{kind}: {purpose}." for kind, purpose in STEP_PURPOSE.items()),
            ("Give every step a unique name such as greet or notify_crm.",),
            "/api-docs",
        ),
        Passage(
            "Input schema and payload validation",
            "A workflow's input_schema is a JSON Schema (draft 2020-12) for run payloads; a run whose payload "
            "breaks it is refused with 400 validation_error naming each field (payload.email).",
            ("Add each field your steps use to input_schema.properties and list the must-haves in required.",),
            "/api-docs",
        ),
        Passage(
            "High-risk data screening",
            "Workflow definitions, run payloads and assistant questions are screened for medical, legal and "
            "financial high-risk data. Critical findings are refused with 422 high_risk_data, a reason and an "
            "appeal link; staff review appeals.",
            ("Remove the sensitive data, or follow details.appeal_url to appeal.",),
            "/high-risk-data",
        ),
        Passage(
            "Plans and prices",
            f"Plans: {price_text}. Prices in pounds sterling. {trial}.",
            ("Compare the plans on /pricing and start the trial there.",),
            "/pricing",
        ),
        Passage(
            "Free trial",
            f"{trial}. The trial starts from /pricing through Stripe Checkout.",
            ("Start the trial from /pricing.",),
            "/pricing",
        ),
        Passage(
            "Done-for-you builds",
            f"We build workflows for you: {dfy_text}. {plans.MONEY_BACK_DAYS}-day money-back guarantee. "
            "Delivered under the Managed Automation Services Agreement.",
            ("Read /dfy-contract, then choose a tier on /pricing.",),
            "/dfy-contract",
        ),
        Passage(
            "Support response times",
            "First-response times by plan: "
            + "; ".join(f"{p.name} {plans.sla_text(p)}" for p in plans.PLANS)
            + f". The cheapest plan is {cheapest.name} at {plans.gbp(cheapest.monthly)} a month.",
            ("Contact support from your account; severity-1 procedure is on /emergency-contacts.",),
            "/sla",
        ),
        Passage(
            "Billing, failed payments and a paused account",
            "When a payment fails we email you and retry; after 14 days unpaid the account is paused: the API "
            "then reads but refuses changes and new runs with 402 account_paused until billing is fixed.",
            ("Update your card on /billing, or pay the open invoice from the emailed link.",),
            "/billing",
        ),
        Passage(
            "Your data: exports and deletion",
            "Request an export of your personal data (at most once every 30 days) from /data-requests or "
            "POST /api/dsar/export; a signed link valid 7 days is emailed. Deletion requests are reviewed by staff.",
            ("Open /data-requests.",),
            "/data-requests",
        ),
        Passage(
            "Service status and SLA credits",
            "Live component status, incidents and 90 days of uptime are on /status (also /api/status/health); "
            "every past incident and maintenance, and each component's monthly uptime, on /status/history; "
            "a status badge at /status/badge.svg and an embeddable status at /status/embed. "
            "If an outage breached the SLA, request a credit on /sla-credits.",
            ("Check /status, then file on /sla-credits if eligible.",),
            "/status",
        ),
    ]


def _endpoints() -> list[Passage]:
    return [
        Passage(f"{e.method} {e.path}", f"{e.summary} Who may call it: {e.auth}.", (e.curl,), "/api-docs")
        for e in api_docs.endpoints(settings.LEVQOR_BASE_URL)
    ]


def _errors() -> list[Passage]:
    return [
        Passage(f"Error {code} (HTTP {status})", meaning, (), "/api-docs#errors")
        for code, (status, meaning) in ERROR_CODES.items()
    ]


def _steps() -> list[Passage]:
    found = []
    for kind, fields in STEP_FIELDS.items():
        takes = ", ".join(fields)
        found.append(
            Passage(
                f"The {kind} step",
                f"A {kind} step {STEP_PURPOSE[kind]}. Besides type and name it takes: {takes}.",
                (),
                "/api-docs",
            )
        )
    return found


@lru_cache(maxsize=1)
def passages() -> tuple[Passage, ...]:
    return tuple(_guides() + _endpoints() + _errors() + _steps())


_WORD = re.compile(r"[a-z0-9_]+")
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i if in is it me my of on or our the this to use "
    "using we what when where which who why will with you your".split()
)


def words(text: str) -> list[str]:
    """Lower-case words without stop words, crudely singular (keys → key)."""
    found = []
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS or len(word) < 2:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.append(word)
    return found


@lru_cache(maxsize=1)
def _index() -> tuple[list[tuple[Passage, set[str], set[str]]], dict[str, float]]:
    rows = [(p, set(words(p.title)), set(words(p.title + " " + p.text))) for p in passages()]
    counts: dict[str, int] = {}
    for _p, _title, body in rows:
        for word in body:
            counts[word] = counts.get(word, 0) + 1
    idf = {word: math.log(1 + len(rows) / n) for word, n in counts.items()}
    return rows, idf


def search(query: str, *, limit: int = 3) -> list[tuple[Passage, float]]:
    """The passages that best match `query`, best first, with their scores
    (only passages sharing at least one word). Ties keep catalogue order."""
    rows, idf = _index()
    wanted = set(words(query))
    scored = []
    for order, (passage, title, body) in enumerate(rows):
        score = sum(idf.get(w, 0) for w in wanted & body) + sum(idf.get(w, 0) for w in wanted & title)
        if score > 0:
            scored.append((-score, order, passage))
    scored.sort()
    return [(passage, -neg) for neg, _order, passage in scored[:limit]]
