"""Cookie consent: what a visitor chose on the banner, kept as proof.

The visitor's browser holds one necessary cookie, `levqor_consent`, signed,
with their random consent id, the banner version and the categories they
chose. Every choice is also stored server-side (`CookieConsent`), so staff
can show what was consented to, when and how. No cookie other than the
necessary ones (session, CSRF, this one) is ever set before a choice, and
code that would set one asks `allows(request, "analytics")` first.
"""

import uuid
from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from levqor.lib.security import client_ip, pii_hash

from . import audit
from .models import CookieConsent
from .objections import objected

COOKIE_NAME = "levqor_consent"
COOKIE_MAX_AGE = 180 * 24 * 3600  # ask again after six months
_SALT = "compliance.consent"

# Bump when the banner's wording or categories change: everyone is asked again.
BANNER_VERSION = "2026-11"

CATEGORIES = (
    ("necessary", "Strictly necessary", "Sign-in, security and remembering this choice. Always on."),
    ("functional", "Functional", "Remembering settings such as your preferred view."),
    ("analytics", "Analytics", "Counting visits and page use so we can improve the site."),
    ("marketing", "Marketing", "Measuring our campaigns and showing relevant offers."),
)
OPTIONAL = ("functional", "analytics", "marketing")


@dataclass(frozen=True)
class ConsentState:
    consent_id: str
    version: str
    functional: bool = False
    analytics: bool = False
    marketing: bool = False

    @property
    def current(self) -> bool:
        return self.version == BANNER_VERSION

    def allows(self, category: str) -> bool:
        return category == "necessary" or (self.current and bool(getattr(self, category, False)))


def state_from_request(request) -> ConsentState | None:
    """The visitor's choice, from their consent cookie (None if not made)."""
    raw = request.COOKIES.get(COOKIE_NAME)
    if not raw:
        return None
    try:
        data = signing.loads(raw, salt=_SALT)
        return ConsentState(
            consent_id=str(uuid.UUID(data["id"])),
            version=str(data["v"]),
            functional=bool(data.get("f")),
            analytics=bool(data.get("a")),
            marketing=bool(data.get("m")),
        )
    except (signing.BadSignature, KeyError, ValueError, TypeError):
        return None


def needs_choice(request) -> bool:
    """Whether the banner should be shown: no choice yet, or an older banner."""
    state = state_from_request(request)
    return state is None or not state.current


def allows(request, category: str) -> bool:
    """May we use this category of cookie or tracking for this visitor now?
    Needs their cookie consent and, when signed in, no objection to it."""
    if category == "necessary":
        return True
    state = state_from_request(request)
    if state is None or not state.allows(category):
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and category in ("analytics", "marketing"):
        return not objected(user, category)
    return True


@transaction.atomic
def consent_record(
    *, request, functional: bool, analytics: bool, marketing: bool, mechanism: str, now=None
) -> CookieConsent:
    """Store one choice (append-only) and return it; the caller sets the
    cookie with `set_cookie()`. Not idempotent by design: each choice made is
    evidence in its own right."""
    if mechanism not in CookieConsent.Mechanism.values:
        raise ValueError(f"Unknown consent mechanism {mechanism!r}.")
    existing = state_from_request(request)
    user = request.user if getattr(request, "user", None) and request.user.is_authenticated else None
    consent = CookieConsent.objects.create(
        consent_id=existing.consent_id if existing else uuid.uuid4(),
        user=user,
        functional=functional,
        analytics=analytics,
        marketing=marketing,
        banner_version=BANNER_VERSION,
        mechanism=mechanism,
        ip_hash=pii_hash(client_ip(request)),
        user_agent=request.headers.get("User-Agent", "")[:255],
        created_at=now or timezone.now(),
    )
    if user is not None:
        audit.record(
            actor=user,
            action="consent.cookies_chosen",
            target=consent,
            details={"categories": consent.categories, "mechanism": mechanism, "version": BANNER_VERSION},
        )
    return consent


def set_cookie(response, consent: CookieConsent, *, secure: bool) -> None:
    value = signing.dumps(
        {
            "id": str(consent.consent_id),
            "v": consent.banner_version,
            "f": int(consent.functional),
            "a": int(consent.analytics),
            "m": int(consent.marketing),
        },
        salt=_SALT,
        compress=True,
    )
    response.set_cookie(COOKIE_NAME, value, max_age=COOKIE_MAX_AGE, secure=secure, httponly=True, samesite="Lax")


def consent_history(*, consent_id) -> list[CookieConsent]:
    return list(CookieConsent.objects.filter(consent_id=consent_id).order_by("created_at", "pk"))


def consent_export(*, user) -> list[dict]:
    """Every cookie choice made while signed in as `user`, as plain dicts (DSAR)."""
    return [
        {
            "consent_id": str(c.consent_id),
            "categories": c.categories,
            "banner_version": c.banner_version,
            "mechanism": c.mechanism,
            "created_at": c.created_at.isoformat(),
        }
        for c in CookieConsent.objects.filter(user=user).order_by("created_at", "pk")
    ]


def consent_counts() -> dict:
    """Current choices by category, counting each consent id's latest choice."""
    latest = CookieConsent.objects.filter(consent_id=OuterRef("consent_id")).order_by("-created_at", "-pk")
    current = CookieConsent.objects.filter(pk=Subquery(latest.values("pk")[:1]))
    total = current.count()
    return {
        "total": total,
        "functional": current.filter(functional=True).count(),
        "analytics": current.filter(analytics=True).count(),
        "marketing": current.filter(marketing=True).count(),
        "rejected_all": current.filter(functional=False, analytics=False, marketing=False).count(),
    }
