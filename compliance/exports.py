"""What compliance holds about a person's choices, as plain data for the
DSAR export's `consents.json`. Read-only."""

from . import consent, marketing, objections, terms


def consents_export(*, user) -> dict:
    """Cookie choices, terms acceptances, the marketing subscription and
    objections of `user`, as JSON-ready dicts and lists."""
    return {
        "cookie_consents": consent.consent_export(user=user),
        "terms_acceptances": terms.terms_export(user=user),
        "marketing_subscription": marketing.marketing_export(user=user),
        "objections": objections.objection_export(user=user),
    }
