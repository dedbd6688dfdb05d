"""The privacy centre for anyone (/privacy/request): a data request from an
email address, with or without an account.

    submit (form) -> verification email (link valid 7 days; the page confirms
    with a POST, so mail scanners cannot verify) -> verified: in the staff
    queue, statutory deadline counted from verification -> staff answer or
    refuse; the person is emailed either way.

The public answer never says whether the address is known: submitting
looks nothing up, always creates the request and queues the verification
email (beyond 3 unverified requests per address per 24 hours it silently
does neither). Accounts are looked up only when staff answer:

- access: an active account's data goes through its DataExport (started
  here, downloaded signed in); anyone else gets a signed link (7 days) to a
  ZIP built on the fly from the providers' `address_files`.
- erasure: an account's goes through its ErasureRequest; anyone else's data
  is erased by the providers' `erase_address` (a marketing objection is
  kept, so the address is never sent marketing again).
- objection: objections recorded for the address (or the account).
- correction: staff correct by hand and say what they did.
"""

import hashlib
import logging
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from levqor.lib.security import pii_hash

from .. import audit, objections
from ..marketing_links import normalise
from ..outbox.services import email_queue
from . import erasure, exports, providers
from .deadlines import deadline_extend, deadline_fields
from .models import DataExport, PrivacyRequest

logger = logging.getLogger(__name__)

VERIFY_VALID = timedelta(days=7)
# Unverified requests one address may make in 24 hours; beyond, nothing is sent.
PER_ADDRESS_PER_DAY = 3
LINK_SALT = "levqor.compliance.dsar.privacy-request-link"
Kind = PrivacyRequest.Kind
Status = PrivacyRequest.Status


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- selectors -----------------------------------------------------------------------


def privacy_requests_awaiting_staff() -> QuerySet:
    return PrivacyRequest.objects.filter(status=Status.PENDING)


def privacy_requests_overdue() -> QuerySet:
    return privacy_requests_awaiting_staff().filter(deadline_on__lt=timezone.localdate())


def account_for(email: str):
    """The account user with this address, if any (an active one first)."""
    if not email:
        return None
    users = get_user_model().objects.filter(email__iexact=email).order_by("-is_active", "pk")
    return users.first()


def privacy_requests_prune_unverified(*, cutoff: datetime, dry_run: bool) -> int:
    """Retention ("unverified_privacy_requests"): requests never verified,
    made before `cutoff`, go with the address they hold."""
    old = PrivacyRequest.objects.filter(status=Status.UNVERIFIED, created_at__lt=cutoff)
    if dry_run:
        return old.count()
    return old.delete()[0]


# --- asking and verifying ---------------------------------------------------------------


def verify_url(token: str) -> str:
    return settings.LEVQOR_BASE_URL + reverse("compliance:privacy_request_verify", args=[token])


@transaction.atomic
def privacy_request_submit(
    *, email: str, kind: str, details: str = "", objection_kinds: list[str] | None = None, now: datetime | None = None
) -> PrivacyRequest | None:
    """Record an unverified request and email the verification link. Looks
    up nothing about the address. Returns None (and sends nothing) once the
    address has PER_ADDRESS_PER_DAY unverified requests in the last 24 hours."""
    if kind not in Kind.values:
        raise ValueError(f"Unknown request kind {kind!r}.")
    email = normalise(email)
    now = now or timezone.now()
    recent = PrivacyRequest.objects.filter(email=email, status=Status.UNVERIFIED, created_at__gt=now - timedelta(1))
    if recent.count() >= PER_ADDRESS_PER_DAY:
        logger.info("privacy request for %s not sent: per-address limit", pii_hash(email))
        return None
    token = secrets.token_urlsafe(32)
    request = PrivacyRequest.objects.create(
        email=email,
        kind=kind,
        details=(details or "").strip()[:2000],
        objection_kinds=[k for k in (objection_kinds or []) if k in objections.KINDS] if kind == Kind.OBJECTION else [],
        created_at=now,
        verify_token_hash=_hash(token),
        **deadline_fields(now),  # provisional: counted again from verification
    )
    audit.record(actor=None, action="privacy_request.submitted", target=request, details={"kind": kind})
    email_queue(
        kind="dsar.privacy-request",
        about=request,
        stage="verify",
        template="privacy-request-verify",
        to=email,
        context={"link": verify_url(token), "days": VERIFY_VALID.days, "kind": Kind(kind).label},
        sensitive=True,  # the link is for that inbox only
    )
    return request


@dataclass(frozen=True)
class Verification:
    request: PrivacyRequest | None
    problem: str  # "" when verified (now or before); else "invalid" or "expired"


@transaction.atomic
def privacy_request_verify(*, token: str, now: datetime | None = None) -> Verification:
    """Verify by the emailed token: the request joins the staff queue and its
    deadline is counted from now. Verifying twice changes nothing."""
    now = now or timezone.now()
    request = PrivacyRequest.objects.select_for_update().filter(verify_token_hash=_hash(token or "")).first()
    if request is None:
        return Verification(None, "invalid")
    if request.verified_at is not None:
        return Verification(request, "")
    if request.created_at <= now - VERIFY_VALID:
        return Verification(request, "expired")
    for name, value in deadline_fields(now).items():
        setattr(request, name, value)
    request.status, request.verified_at = Status.PENDING, now
    request.save(update_fields=["status", "verified_at", "requested_at", "due_on", "deadline_on"])
    audit.record(
        actor=None,
        action="privacy_request.verified",
        target=request,
        details={"kind": request.kind, "due_on": request.due_on.isoformat()},
    )
    email_queue(
        kind="dsar.privacy-request",
        about=request,
        stage="received",
        template="privacy-request-received",
        to=request.email,
        context={"kind": request.get_kind_display()},
        objects={"request": request},
    )
    return Verification(request, "")


# --- staff ---------------------------------------------------------------------------------


def _locked(request: PrivacyRequest) -> PrivacyRequest:
    return PrivacyRequest.objects.select_for_update().get(pk=request.pk)


def _tell(request: PrivacyRequest, *, to: str, stage: str, message: str, last: bool = False) -> None:
    """The answer (or refusal) email; the last one after an erasure forgets the address once sent."""
    email_queue(
        kind="dsar.privacy-request",
        about=request,
        stage=stage,
        template="privacy-request-answered",
        to=to,
        context={
            "kind": request.get_kind_display(),
            "refused": stage == "refused",
            "message": message,
            "note": request.staff_note,
        },
        forget_recipient=last,
    )


def _answer_access(request: PrivacyRequest, user, actor) -> tuple[dict, str]:
    if user is not None and user.is_active:
        try:
            export = exports.export_request(user=user, via=DataExport.Via.STAFF, actor=actor)
        except exports.ExportTooSoon:
            export = exports.export_list(user=user).first()
        request.data_export = export
        return (
            {"data_export": export.pk, "account": True},
            "This address has a Levqor account, so your copy is built as that account's data export: we email "
            "the download link to this address when it is ready, and you download it signed in.",
        )
    _email_link(request)
    return {"address_export": True}, ""


def _email_link(request: PrivacyRequest) -> None:
    """A fresh 7-day download link for an address export, emailed once per
    link version. The link is a secret: the outbox forgets it once sent."""
    request.link_expires_at = timezone.now() + timedelta(days=settings.LEVQOR_DSAR_LINK_DAYS)
    email_queue(
        kind="dsar.privacy-request",
        about=request,
        stage=f"export-link-{request.link_version}",
        template="privacy-request-export-ready",
        to=request.email,
        context={"link": link_url(request), "days": settings.LEVQOR_DSAR_LINK_DAYS},
        objects={"request": request},
        sensitive=True,
    )


def _answer_erasure(request: PrivacyRequest, user, actor) -> tuple[dict, str]:
    if user is not None:
        opened = erasure.erasure_request(user=user, note=request.details, actor=actor)
        request.erasure_request = opened
        return (
            {"erasure_request": opened.pk, "account": True},
            "This address has a Levqor account, so your request is now that account's deletion request. "
            "We email you its outcome.",
        )
    summary = {name: erase(email=request.email, actor=actor) or {} for name, erase in providers.address_erasers()}
    return (
        {"erased": summary},
        "We have erased the personal data we held about this address. We keep only a note that this "
        "address must not be sent marketing email, so that it never is.",
    )


def _answer_objection(request: PrivacyRequest, user, actor) -> tuple[dict, str]:
    kinds = request.objection_kinds or list(objections.KINDS)
    changed = objections.objections_set(
        user=user if user is not None else request.email,
        choices=dict.fromkeys(kinds, True),
        source="staff",
        actor=actor,
    )
    return {"objections": kinds, "changed": changed}, "We have recorded your objection and no longer do this."


def _answer_correction(request: PrivacyRequest, user, actor) -> tuple[dict, str]:
    if not request.staff_note:
        raise ValidationError("Say what was corrected: the note is emailed to the person.")
    return {"account": user is not None}, "We have corrected your data as described below."


ANSWER = {
    Kind.ACCESS: _answer_access,
    Kind.ERASURE: _answer_erasure,
    Kind.OBJECTION: _answer_objection,
    Kind.CORRECTION: _answer_correction,
}


@transaction.atomic
def privacy_request_answer(*, request: PrivacyRequest, note: str = "", actor) -> bool:
    """Answer a verified request (see the module's docstring) and email the
    person. Only requests awaiting staff; False otherwise. Raises
    ValidationError for a correction without a note."""
    request = _locked(request)
    if request.status != Status.PENDING:
        return False
    to = request.email
    user = account_for(to)
    request.staff_note = (note or "").strip()[:2000]
    outcome, message = ANSWER[request.kind](request, user, actor)
    request.user = user
    request.status, request.decided_by, request.decided_at = Status.DONE, actor, timezone.now()
    request.outcome = outcome
    if request.kind == Kind.ERASURE and user is None:
        request.email = request.details = ""  # the request is kept as evidence, without the person
    request.save()
    audit.record(actor=actor, action="privacy_request.answered", target=request, details={"outcome": outcome})
    if message:
        _tell(request, to=to, stage="answered", message=message, last=not request.email)
    return True


@transaction.atomic
def privacy_request_refuse(*, request: PrivacyRequest, reason: str, actor) -> bool:
    """Refuse a verified request; the reason is emailed to the person."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give the reason for refusing: it is emailed to the person.")
    request = _locked(request)
    if request.status != Status.PENDING:
        return False
    request.status, request.decided_by, request.decided_at = Status.REFUSED, actor, timezone.now()
    request.staff_note = reason[:2000]
    request.save(update_fields=["status", "decided_by", "decided_at", "staff_note"])
    audit.record(actor=actor, action="privacy_request.refused", target=request, details={"reason": reason})
    _tell(request, to=request.email, stage="refused", message="We cannot do what you asked, for this reason:")
    return True


@transaction.atomic
def privacy_request_resend_link(*, request: PrivacyRequest, actor) -> bool:
    """Email a new download link (7 days) for an answered address export;
    links sent before stop working. False for any other request."""
    request = _locked(request)
    if request.kind != Kind.ACCESS or request.status != Status.DONE or request.data_export_id or not request.email:
        return False
    request.link_version += 1
    _email_link(request)
    request.save(update_fields=["link_version", "link_expires_at"])
    audit.record(
        actor=actor, action="privacy_request.link_resent", target=request, details={"version": request.link_version}
    )
    return True


@transaction.atomic
def privacy_request_extend_deadline(*, request: PrivacyRequest, months: int, reason: str, actor) -> PrivacyRequest:
    """Extend a verified request's deadline (see deadline_extend). Raises ValidationError."""
    request = _locked(request)
    if request.status != Status.PENDING:
        raise ValidationError("Only a request awaiting staff can have its deadline extended.")
    deadline_extend(obj=request, months=months, reason=reason, actor=actor, kind="privacy_request", email=request.email)
    return request


# --- the address export: signed link, ZIP built on the fly ---------------------------------


def link_token(request: PrivacyRequest) -> str:
    return signing.dumps({"p": request.pk, "v": request.link_version}, salt=LINK_SALT, compress=True)


def link_url(request: PrivacyRequest) -> str:
    return settings.LEVQOR_BASE_URL + reverse("compliance:privacy_request_download", args=[link_token(request)])


def link_check(*, token: str) -> tuple[PrivacyRequest | None, str]:
    """(request, "") when the download link may be used; else a problem:
    "invalid" (unknown, forged, not an address export) or "expired"."""
    try:
        data = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature:
        return None, "invalid"
    if not isinstance(data, dict) or not isinstance(data.get("p"), int):
        return None, "invalid"
    request = PrivacyRequest.objects.filter(
        pk=data["p"], kind=Kind.ACCESS, status=Status.DONE, data_export__isnull=True
    ).first()
    if request is None or not request.email or data.get("v") != request.link_version:
        return None, "invalid"
    if not request.link_is_live:
        return request, "expired"
    return request, ""


def address_archive(*, request: PrivacyRequest, out) -> dict:
    """Write the ZIP of everything held about the request's address (for
    people without an account) to the binary file `out`; returns the manifest."""
    files = providers.address_export_files()
    manifest = {
        "format": "levqor-dsar-address/1",
        "privacy_request_id": request.pk,
        "email": request.email,
        "generated_at": timezone.now(),
        "files": {},
    }
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in sorted(files):
            rows = files[name].rows(email=request.email)
            write = lambda member, rows=rows: exports._write_rows(member, rows)  # noqa: E731
            manifest["files"][name] = exports._add_member(archive, name, write)
        readme = render_to_string(
            "compliance/dsar/README-address.txt",
            {
                "request": request,
                "files": [(name, files[name].description) for name in sorted(files)],
                "support_email": settings.LEVQOR_SUPPORT_EMAIL,
                "base_url": settings.LEVQOR_BASE_URL,
            },
        )
        archive.writestr("README.txt", readme)
        archive.writestr("manifest.json", DjangoJSONEncoder(indent=2, sort_keys=True).encode(manifest))
    return manifest


def privacy_request_downloaded(*, request: PrivacyRequest) -> None:
    audit.record(actor=None, action="privacy_request.downloaded", target=request, details={})
