"""The first full version of the terms of service: the words the /terms page
showed when the page became the versioned document (migration 0007 publishes
it; `seed_demo` and the tests use it too). A published version never changes,
so neither does this text: a test holds it to its seal. Later versions are
written and published in Admin.

The trial sentence is levqor.plans.TRIAL_TEXT as it stood (compliance may not
import plans, and a published text must not follow later edits anyway; the
terms check in levqor/pages/checks.py compares the current version with the
locked facts). `{support_email}` is filled in once, when the version is created, from
LEVQOR_SUPPORT_EMAIL: the stored text is the exact text customers accept.
"""

import hashlib
from pathlib import Path

FIRST_VERSION = "2026-12"
FIRST_CHANGELOG = (
    "The terms you accept are now the full terms of service published at /terms, "
    "word for word (earlier versions were a short summary)."
)

# The document itself is a file beside this one: long paragraphs, one a line, as stored.
FIRST_TEXT = (Path(__file__).parent / "terms_first.md").read_text(encoding="utf-8")

# The seal of FIRST_TEXT: published words never change (compliance/tests/test_terms_document.py).
FIRST_SEAL = "6b91a7362161dc7c24974d1f558e2c1e9bd6e4487daccf50c869804291e58759"


def first_text(*, support_email: str) -> str:
    """The first version's text with its one deployment fact filled in."""
    return FIRST_TEXT.replace("{support_email}", support_email)


def first_seal() -> str:
    return hashlib.sha256(FIRST_TEXT.encode()).hexdigest()
