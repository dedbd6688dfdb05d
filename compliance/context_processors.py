from django.urls import reverse

from levqor.lib.security import without_secrets

from . import consent


def privacy(request):
    """The cookie banner's state for base.html. `cookie_allows.analytics` (and
    functional, marketing) is what any template must check before adding a
    script or cookie of that kind."""
    state = consent.state_from_request(request)
    return {
        # Not on the preferences page itself: it already offers every choice.
        "cookie_banner": consent.needs_choice(request) and request.path != reverse("compliance:cookies"),
        "cookie_consent": state,
        # Where the banner's choice returns to: this page, minus any sign-in
        # token in its address (the banner shows on the sign-in link's page).
        "cookie_next": without_secrets(request.get_full_path()),
        "cookie_allows": {category: consent.allows(request, category) for category, _, _ in consent.CATEGORIES},
    }
