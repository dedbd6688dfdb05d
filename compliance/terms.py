"""Terms of service versions and who accepted which.

A version's text is the whole document /terms shows (terms_markup.py renders
it; older versions stay at /terms/v/<version>). Staff write a version in
Admin and publish it; from then on every signed-in customer must accept it
before going on (`TermsGateMiddleware`), and each is emailed about it once.
A published version never changes. Acceptances store the version, the
SHA-256 of its exact text, the time and IP.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from . import audit, terms_first, terms_markup
from .models import TermsAcceptance, TermsNotice, TermsVersion
from .outbox.services import emails_queue_many as email_queue_many

logger = logging.getLogger(__name__)

_CACHE_KEY = "compliance:terms:current"
_CACHE_SECONDS = 60


# --- selectors ---------------------------------------------------------------


def terms_current(*, now=None) -> TermsVersion | None:
    """The version in force: the latest one published."""
    return (
        TermsVersion.objects.filter(published_at__isnull=False, published_at__lte=now or timezone.now())
        .order_by("-published_at", "-pk")
        .first()
    )


def terms_published(*, version: str, now=None) -> TermsVersion | None:
    """A published version by its name (its permanent page), or None."""
    return TermsVersion.objects.filter(
        version=version, published_at__isnull=False, published_at__lte=now or timezone.now()
    ).first()


def terms_published_versions(*, now=None) -> list[TermsVersion]:
    """Every published version, newest first (without their texts)."""
    return list(
        TermsVersion.objects.filter(published_at__isnull=False, published_at__lte=now or timezone.now())
        .order_by("-published_at", "-pk")
        .defer("text", "changelog")
    )


def terms_document(*, version: TermsVersion):
    """The version's text as the HTML of the /terms page (safe: all escaped)."""
    return terms_markup.render(version.text)


def terms_acceptances_of_other_text(*, version: TermsVersion) -> int:
    """Acceptances of `version` whose recorded SHA-256 is not that of its text
    now: non-zero means the text was changed after people accepted it."""
    return version.acceptances.exclude(text_sha256="").exclude(text_sha256=version.text_sha256).count()


def terms_current_id() -> int | None:
    """The current version's id, cached briefly: the gate asks on every request."""
    cached = cache.get(_CACHE_KEY)
    if cached is None:
        version = terms_current()
        cached = version.pk if version else 0
        cache.set(_CACHE_KEY, cached, _CACHE_SECONDS)
    return cached or None


def terms_accepted_before(*, user, version: TermsVersion) -> bool:
    """Whether this person accepted some other version before this one."""
    return TermsAcceptance.objects.filter(user=user).exclude(version=version).exists()


def terms_acceptance_for(*, user, version: TermsVersion | None = None) -> TermsAcceptance | None:
    version = version or terms_current()
    if version is None:
        return None
    return TermsAcceptance.objects.filter(user=user, version=version).first()


def terms_must_accept(*, user) -> bool:
    """Whether this signed-in customer must accept the current terms first.
    Staff are not asked: they are bound by their employment, not these terms."""
    if not user.is_authenticated or user.is_staff or not getattr(user, "account_id", None):
        return False
    version_id = terms_current_id()
    return version_id is not None and not TermsAcceptance.objects.filter(user=user, version_id=version_id).exists()


def terms_acceptance_rate(*, version: TermsVersion | None = None) -> dict:
    """Share of active customer users who accepted the current version."""
    version = version or terms_current()
    customers = get_user_model().objects.filter(is_active=True, is_staff=False, account__isnull=False)
    total = customers.count()
    accepted = 0
    if version is not None:
        accepted = TermsAcceptance.objects.filter(version=version, user__in=customers).count()
    return {
        "version": version.version if version else None,
        "accepted": accepted,
        "total": total,
        "rate": round(100 * accepted / total, 1) if total and version else None,
    }


def terms_export(*, user) -> list[dict]:
    """Every terms acceptance by `user`, as plain dicts (DSAR)."""
    return [
        {
            "version": a.version.version,
            "accepted_at": a.accepted_at.isoformat(),
            "ip_address": a.ip_address,
            "mechanism": a.mechanism,
            "text_sha256": a.text_sha256,
        }
        for a in TermsAcceptance.objects.filter(user=user).select_related("version").order_by("accepted_at")
    ]


# --- services ------------------------------------------------------------------


@transaction.atomic
def terms_version_publish(*, version: TermsVersion, actor, now=None) -> bool:
    """Publish a draft: it becomes current and customers are emailed about it
    (after commit, through the task queue). Returns False if it was already
    published, so publishing twice emails no one twice. An empty or stub text
    is refused (ValidationError): customers accept exactly these words."""
    now = now or timezone.now()
    stored = TermsVersion.objects.get(pk=version.pk)  # the words in the database, not an edited copy
    problems = terms_markup.problems(stored.text)
    if problems and not stored.is_published:
        raise ValidationError(f"Terms {version.version} cannot be published: " + "; ".join(problems) + ".")
    changed = TermsVersion.objects.filter(pk=version.pk, published_at__isnull=True).update(
        published_at=now, published_by=actor if actor and actor.is_authenticated else None
    )
    if not changed:
        return False
    version.refresh_from_db()
    audit.record(
        actor=actor,
        action="terms.published",
        target=version,
        details={"version": version.version, "text_sha256": version.text_sha256},
    )
    cache.delete(_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(_CACHE_KEY))  # a reader may have cached the old one meanwhile
    version_id = version.pk
    transaction.on_commit(lambda: async_task(terms_notify, version_id=version_id))
    return True


def terms_notify(*, version_id: int) -> int:
    """Queue the "terms changed" email for every active customer, once per
    (person, version): `TermsNotice` records who was told, and the outbox
    queues each (person, version) once. Safe to run twice and on two
    workers. Batches of 500 go in one insert and one delivery task each.
    Returns how many people were told (a re-run finds nobody new)."""
    version = TermsVersion.objects.filter(pk=version_id, published_at__isnull=False).first()
    if version is None:
        return 0
    link = settings.LEVQOR_BASE_URL + reverse("compliance:terms_accept")
    # The version's own permanent page: the words being accepted, to read first.
    document = settings.LEVQOR_BASE_URL + reverse("pages:terms_version", args=[version.version])
    users = get_user_model().objects.filter(is_active=True, is_staff=False, account__isnull=False)
    pending = list(
        users.exclude(pk__in=TermsNotice.objects.filter(version=version).values("user_id"))
        .order_by("pk")
        .values_list("pk", "email")
    )
    claimed = 0
    for start in range(0, len(pending), 500):
        batch = dict(pending[start : start + 500])
        with transaction.atomic():
            created = TermsNotice.objects.bulk_create(
                [TermsNotice(version=version, user_id=pk) for pk in batch], ignore_conflicts=True
            )
            # The outbox queues each (person, version) once, whoever else runs this.
            email_queue_many(
                kind="compliance.terms-updated",
                emails=[
                    {
                        "about": ("accounts.user", pk),
                        "stage": f"terms-{version.pk}",
                        "template": "terms-updated",
                        "to": address,
                        "context": {"link": link, "document_url": document},
                        "objects": {"user": ("accounts.user", pk), "version": version},
                    }
                    for pk, address in batch.items()
                ],
            )
        claimed += len(created)
    logger.info("terms %s: %d notices queued", version.version, claimed)
    return claimed


@transaction.atomic
def terms_accept(
    *, user, version: TermsVersion | None = None, ip_address: str | None, user_agent: str = "", mechanism: str, now=None
) -> tuple[TermsAcceptance, bool]:
    """Record that `user` accepts `version` (default: the current one).
    Returns (acceptance, created); accepting again changes nothing."""
    version = version or terms_current()
    if version is None or not version.is_published:
        raise ValueError("There is no published version of the terms to accept.")
    existing = TermsAcceptance.objects.filter(user=user, version=version).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            acceptance = TermsAcceptance.objects.create(
                user=user,
                version=version,
                accepted_at=now or timezone.now(),
                ip_address=ip_address or None,
                user_agent=user_agent[:255],
                mechanism=mechanism,
                text_sha256=version.text_sha256,
            )
    except IntegrityError:  # a double-click raced us
        return TermsAcceptance.objects.get(user=user, version=version), False
    audit.record(
        actor=user,
        action="terms.accepted",
        target=acceptance,
        details={"version": version.version, "via": mechanism, "text_sha256": acceptance.text_sha256},
    )
    return acceptance, True


def terms_first_ensure(*, actor, now=None) -> TermsVersion:
    """The first full version (compliance/terms_first.py), created and
    published if it is not there yet (migration 0007 does it on a real
    database; seeds and tests call this). Idempotent."""
    version, _ = TermsVersion.objects.get_or_create(
        version=terms_first.FIRST_VERSION,
        defaults={
            "text": terms_first.first_text(support_email=settings.LEVQOR_SUPPORT_EMAIL),
            "changelog": terms_first.FIRST_CHANGELOG,
        },
    )
    if not version.is_published:
        terms_version_publish(version=version, actor=actor, now=now)
        version.refresh_from_db()
    return version
