"""The system check that guards the locked business facts (levqor.plans):
their seal, that the rendered /pricing page shows each of them, and that no
page or email template anywhere says a different value (levqor/pages/drift.py).
Here, not in plans.py, because it renders templates: pages import plans, not
the other way round."""

from django.conf import settings
from django.core import checks
from django.db import DatabaseError
from django.test.utils import override_settings

from compliance import terms as terms_of_service
from compliance import terms_markup
from levqor import plans

from . import drift
from .views import pricing_context, render_pricing_html, roi_context


def render_pricing_page() -> str:
    """Render /pricing as the check sees it. Static file URLs are resolved
    without the hashed manifest, which does not exist before collectstatic
    (checks run on build machines too); everything else renders as served."""
    plain_static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain_static}):
        return render_pricing_html()


@checks.register("levqor")
def check_locked_facts(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    fingerprint = plans.facts_fingerprint()
    if fingerprint != plans.LOCKED_SEAL:
        errors.append(
            checks.Error(
                "Locked business facts have changed: prices, SLA hours, DFY tiers, "
                "the money-back period or the trial sentence no longer match their seal.",
                hint=f"Current facts: {plans.canonical_facts()}. If this change is intended and approved, "
                f"record the decision and change LOCKED_SEAL to {fingerprint!r}.",
                obj="levqor.plans",
                id="levqor.E001",
            )
        )
    try:
        missing = plans.missing_from_page(render_pricing_page())
    except Exception as exc:  # a broken template must fail the check, not crash it
        missing = [f"the pricing page failed to render: {exc!r}"]
    if missing:
        errors.append(
            checks.Error(
                "The rendered /pricing page does not show every locked fact: " + "; ".join(missing),
                hint="Render the facts from levqor.plans inside their data-fact sections.",
                obj="templates/pages/pricing.html",
                id="levqor.E002",
            )
        )
    try:
        drifted = drift.drift_report({**pricing_context(), **roi_context(), "show_not_ready": True})
    except Exception as exc:  # a template that does not even parse must fail the check, not crash it
        drifted = {"(templates)": [f"could not be rendered: {exc!r}"]}
    for name, problems in drifted.items():
        errors.append(
            checks.Error(
                f"{name} shows values that are not the locked facts: " + "; ".join(problems),
                hint="Render prices, SLA hours, DFY tiers and the trial sentence from levqor.plans "
                "(the context or the gbp / dfy_timeline filters) instead of writing them into the template.",
                obj=f"templates/{name}",
                id="levqor.E003",
            )
        )
    return errors


@checks.register("levqor", checks.Tags.database)
def check_terms_document(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """The current terms version is what /terms shows and customers accept:
    it must be a full document (not empty, not a demo stub) and say the locked
    facts as they are. Reads the database, so it runs with `check --database
    default` and before `migrate`, not with every management command."""
    if not databases:
        return []
    try:
        version = terms_of_service.terms_current()
    except DatabaseError:  # not migrated yet: nothing published to check
        return []
    if version is None:
        return [
            checks.Warning(
                "No terms of service version is published: /terms has nothing to show.",
                hint="Run migrate (it publishes the first version), or publish one in Admin.",
                obj="compliance.TermsVersion",
                id="levqor.W004",
            )
        ]
    errors: list[checks.CheckMessage] = []
    problems = terms_markup.problems(version.text)
    if problems:
        errors.append(
            checks.Error(
                f"The current terms (version {version.version}) are not a full terms document: " + "; ".join(problems),
                hint="Publish a new version with the full text in Admin (Terms of service versions).",
                obj="compliance.TermsVersion",
                id="levqor.E004",
            )
        )
    drifted = drift.findings(drift.visible_text(terms_markup.render(version.text)))
    if drifted:
        errors.append(
            checks.Error(
                f"The current terms (version {version.version}) say values that are not the locked facts: "
                + "; ".join(drifted),
                hint="Publish a new version of the terms that says the facts of levqor.plans.",
                obj="compliance.TermsVersion",
                id="levqor.E005",
            )
        )
    return errors
