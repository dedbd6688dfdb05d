"""DSAR exports: the request (one per 30 days, statutory due date), the
ZIP streamed to storage, the signed download link, and staff actions.

Memory stays flat whatever the person holds: every provider yields rows
from `.iterator(chunk_size=...)`, rows go through a zlib stream into a
temporary file on disk, and that file is copied to the default storage in
chunks (S3: a multipart upload).
"""

import hashlib
import json
import logging
import secrets
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from compliance.outbox.services import email_queue

from .. import audit
from . import providers
from .deadlines import deadline_extend, deadline_fields
from .models import DataExport

logger = logging.getLogger(__name__)

# The files every export holds, in this order (a provider that is not
# configured still gets its file, empty), then README.txt and manifest.json.
EXPORT_FILES = (
    "user.json",
    "workflows.json",
    "runs.json",
    "logs.json",
    "billing.json",
    "support.json",
    "status.json",
    "consents.json",
    "screening.json",
    "audit.json",
    "emails.json",
)
LINK_SALT = "levqor.compliance.dsar.download-link"
CHUNK = 64 * 1024


class ExportTooSoon(ValidationError):
    """A second export within the limit window."""

    def __init__(self, next_allowed_at: datetime):
        self.next_allowed_at = next_allowed_at
        day = timezone.localtime(next_allowed_at)
        super().__init__(
            f"You can request one data export every {settings.LEVQOR_DSAR_MIN_DAYS_BETWEEN} days. "
            f"Your next request is possible from {day.day} {day:%B %Y at %H:%M} (UK time).",
            code="dsar_too_soon",
        )


# --- selectors ---------------------------------------------------------------------


def export_list(*, user) -> QuerySet:
    return DataExport.objects.filter(user=user).order_by("-requested_at")


def export_next_allowed_at(*, user) -> datetime | None:
    """When this user may next ask for an export; None when they may now.
    Failed builds do not count against the limit."""
    last = (
        DataExport.objects.filter(user=user)
        .exclude(status=DataExport.Status.FAILED)
        .order_by("-requested_at")
        .values_list("requested_at", flat=True)
        .first()
    )
    if last is None:
        return None
    allowed = last + timedelta(days=settings.LEVQOR_DSAR_MIN_DAYS_BETWEEN)
    return allowed if allowed > timezone.now() else None


def exports_overdue() -> QuerySet:
    """Exports not yet delivered whose (possibly extended) deadline has passed."""
    return DataExport.objects.filter(completed_at__isnull=True, deadline_on__lt=timezone.localdate())


def exports_expired_before(cutoff: datetime) -> QuerySet:
    """Exports whose file is still stored although its link expired before `cutoff`."""
    return DataExport.objects.filter(file_deleted_at__isnull=True, link_expires_at__lt=cutoff).exclude(file_name="")


# --- signed links ---------------------------------------------------------------------


def link_token(export: DataExport) -> str:
    return signing.dumps({"e": export.pk, "v": export.link_version}, salt=LINK_SALT, compress=True)


def link_url(export: DataExport) -> str:
    return settings.LEVQOR_BASE_URL + reverse("compliance:dsar_download", args=[link_token(export)])


@dataclass(frozen=True)
class LinkCheck:
    export: DataExport | None
    problem: str  # "" when the link may be used; else "invalid", "expired", "invalidated", "not_found"


def link_check(*, token: str, user) -> LinkCheck:
    """Check a download link: signature, age, version (invalidation), the
    export's own state and that it belongs to `user`."""
    max_age = timedelta(days=settings.LEVQOR_DSAR_LINK_DAYS)
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=max_age)
    except signing.SignatureExpired:
        return LinkCheck(None, "expired")
    except signing.BadSignature:
        return LinkCheck(None, "invalid")
    if not isinstance(data, dict) or not isinstance(data.get("e"), int):
        return LinkCheck(None, "invalid")
    export = DataExport.objects.filter(pk=data["e"], user_id=user.pk).first()
    if export is None:
        return LinkCheck(None, "not_found")  # someone else's: it does not exist for this user
    if data.get("v") != export.link_version or export.invalidated_at is not None:
        return LinkCheck(export, "invalidated")
    if not export.link_is_live:
        return LinkCheck(export, "expired")
    return LinkCheck(export, "")


# --- requesting ---------------------------------------------------------------------


@transaction.atomic
def export_request(*, user, via: str, actor, actor_label: str = "", now: datetime | None = None) -> DataExport:
    """Record a data export request and queue its build. At most one per
    LEVQOR_DSAR_MIN_DAYS_BETWEEN days per user (raises ExportTooSoon)."""
    now = now or timezone.now()
    # Two requests at once for one person: the row lock makes the second wait
    # and then see the first (SQLite serialises writers anyway).
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    next_allowed = export_next_allowed_at(user=user)
    if next_allowed is not None and next_allowed > now:
        raise ExportTooSoon(next_allowed)
    export = DataExport.objects.create(user=user, requested_via=via, **deadline_fields(now))
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="dsar.export_requested",
        target=export,
        details={"user_id": user.pk, "via": via, "due_on": export.due_on.isoformat()},
    )
    transaction.on_commit(lambda: enqueue_build(export.pk))
    return export


def enqueue_build(export_id: int) -> None:
    async_task(export_build, export_id=export_id, task_name=f"dsar-export-{export_id}")


def exports_sweep(*, now) -> int:
    """Re-queue exports the queue lost (queued for over 10 minutes, or a
    build abandoned past the retry time). Safe to run twice: the build claims."""
    lost = DataExport.objects.filter(status=DataExport.Status.QUEUED, requested_at__lt=now - timedelta(minutes=10))
    stale = DataExport.objects.filter(status=DataExport.Status.BUILDING, started_at__lt=now - timedelta(minutes=10))
    ids = list(lost.values_list("pk", flat=True)) + list(stale.values_list("pk", flat=True))
    for export_id in ids:
        enqueue_build(export_id)
    return len(ids)


# --- building ------------------------------------------------------------------------


class _Member:
    """Writes to one ZIP member through a buffer, counting bytes and hashing."""

    def __init__(self, stream):
        self.stream = stream
        self.sha = hashlib.sha256()
        self.size = 0
        self.buffer: list[bytes] = []
        self.buffered = 0

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.size += len(data)
        self.buffer.append(data)
        self.buffered += len(data)
        if self.buffered >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.stream.write(b"".join(self.buffer))
            self.buffer, self.buffered = [], 0


def _write_rows(member: _Member, rows) -> int:
    """A JSON array, one object per line; returns the row count."""
    count = 0
    member.write(b"[")
    for row in rows:
        member.write(b"\n" if count == 0 else b",\n")
        member.write(json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True).encode())
        count += 1
    member.write(b"\n]\n" if count else b"]\n")
    member.flush()
    return count


def _add_member(archive: zipfile.ZipFile, name: str, writer) -> dict:
    with archive.open(name, "w", force_zip64=True) as stream:
        member = _Member(stream)
        rows = writer(member)
        member.flush()
    return {"sha256": member.sha.hexdigest(), "bytes": member.size, "rows": rows}


def build_archive(*, export: DataExport, out) -> dict:
    """Write the export's ZIP to the binary file `out`; returns the manifest."""
    user = export.user
    files = providers.export_files()
    names = [*EXPORT_FILES, *sorted(set(files) - set(EXPORT_FILES))]
    manifest = {
        "format": "levqor-dsar/1",
        "export_id": export.pk,
        "user_id": user.pk,
        "requested_at": export.requested_at,
        "generated_at": timezone.now(),
        "files": {},
    }
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in names:
            spec = files.get(name)
            rows = spec.rows(user=user) if spec is not None else ()
            manifest["files"][name] = _add_member(archive, name, lambda m, rows=rows: _write_rows(m, rows))
        readme = render_to_string(
            "compliance/dsar/README.txt",
            {
                "export": export,
                "files": [(name, files[name].description if name in files else "Nothing held.") for name in names],
                "support_email": settings.LEVQOR_SUPPORT_EMAIL,
                "base_url": settings.LEVQOR_BASE_URL,
            },
        ).encode()

        def write_readme(member):
            member.write(readme)
            return None

        manifest["files"]["README.txt"] = _add_member(archive, "README.txt", write_readme)
        body = json.dumps(manifest, cls=DjangoJSONEncoder, indent=2, sort_keys=True).encode()
        archive.writestr("manifest.json", body)
    return json.loads(json.dumps(manifest, cls=DjangoJSONEncoder))


def _claim(export_id: int, now: datetime) -> bool:
    """queued → building, or a build abandoned by a dead worker. Exactly one
    caller wins, however many run the task at once."""
    stale = now - timedelta(seconds=settings.Q_CLUSTER.get("retry", 360))
    return bool(
        DataExport.objects.filter(pk=export_id)
        .filter(Q(status=DataExport.Status.QUEUED) | Q(status=DataExport.Status.BUILDING, started_at__lt=stale))
        .update(status=DataExport.Status.BUILDING, started_at=now, attempts=F("attempts") + 1)
    )


def export_build(*, export_id: int) -> bool:
    """Build, store and email one export. Safe to run twice: only the worker
    that claims the row builds; a finished export is left alone. A failure
    is retried up to LEVQOR_DSAR_MAX_ATTEMPTS times, then marked failed."""
    now = timezone.now()
    if not _claim(export_id, now):
        return False
    export = DataExport.objects.select_related("user").get(pk=export_id)
    name = f"dsar/{export.user_id}/{export.pk}-{secrets.token_hex(12)}.zip"
    try:
        with tempfile.TemporaryFile() as tmp:
            manifest = build_archive(export=export, out=tmp)
            tmp.seek(0)
            digest, size = hashlib.sha256(), 0
            for block in iter(lambda: tmp.read(CHUNK), b""):
                digest.update(block)
                size += len(block)
            tmp.seek(0)
            stored = default_storage.save(name, File(tmp, name=name))
    except Exception as exc:  # any failure: keep the error for staff, then retry or give up
        logger.exception("DSAR export %s failed", export_id)
        _build_failed(export_id=export_id, error=f"{type(exc).__name__}: {exc}")
        return False
    return _build_ready(export_id=export_id, name=stored, size=size, sha256=digest.hexdigest(), manifest=manifest)


@transaction.atomic
def _build_ready(*, export_id: int, name: str, size: int, sha256: str, manifest: dict) -> bool:
    now = timezone.now()
    export = DataExport.objects.select_for_update().select_related("user").get(pk=export_id)
    if export.status != DataExport.Status.BUILDING:
        default_storage.delete(name)  # invalidated or rebuilt meanwhile: this file is not the answer
        return False
    old_file = export.file_name if export.file_deleted_at is None else ""
    export.status = DataExport.Status.READY
    export.file_name, export.file_size, export.file_sha256, export.manifest = name, size, sha256, manifest
    export.file_deleted_at = None
    export.error = ""
    export.completed_at = export.completed_at or now
    export.link_expires_at = now + timedelta(days=settings.LEVQOR_DSAR_LINK_DAYS)
    export.save()
    if old_file and old_file != name:
        transaction.on_commit(lambda: default_storage.delete(old_file))
    rows = {file: meta["rows"] for file, meta in manifest["files"].items() if meta.get("rows") is not None}
    audit.record(
        actor=None,
        action="dsar.export_ready",
        target=export,
        details={"user_id": export.user_id, "bytes": size, "sha256": sha256, "rows": rows},
    )
    _email_link(export, reason="ready")
    return True


@transaction.atomic
def _build_failed(*, export_id: int, error: str) -> None:
    export = DataExport.objects.select_for_update().get(pk=export_id)
    if export.status != DataExport.Status.BUILDING:
        return
    retry = export.attempts < settings.LEVQOR_DSAR_MAX_ATTEMPTS
    export.status = DataExport.Status.QUEUED if retry else DataExport.Status.FAILED
    export.error = error[:5000]
    export.save(update_fields=["status", "error"])
    audit.record(
        actor=None,
        action="dsar.export_retry" if retry else "dsar.export_failed",
        target=export,
        details={"attempts": export.attempts, "error": error[:500]},
    )
    if retry:
        transaction.on_commit(lambda: enqueue_build(export_id))


def _email_link(export: DataExport, *, reason: str) -> None:
    """Queue the download-link email (sent after commit) and count it; each
    one (ready, then every resend) goes once. The link is a secret, so the
    outbox forgets it once sent."""
    count = DataExport.objects.get(pk=export.pk).email_count + 1
    DataExport.objects.filter(pk=export.pk).update(emailed_at=timezone.now(), email_count=count)
    email_queue(
        kind="dsar.export-ready",
        about=export,
        stage=f"link-{count}",
        template="dsar-export-ready",
        to=export.user.email,
        context={"link": link_url(export), "days": settings.LEVQOR_DSAR_LINK_DAYS},
        objects={"export": export},
        tags=[reason],
        sensitive=True,
    )


# --- staff actions -----------------------------------------------------------------------


def _locked(export: DataExport) -> DataExport:
    return DataExport.objects.select_for_update().select_related("user").get(pk=export.pk)


@transaction.atomic
def export_resend(*, export: DataExport, actor) -> bool:
    """Email the link again (a fresh 7 days if it had expired). Only for a
    ready export whose file still exists and that is not invalidated."""
    export = _locked(export)
    if export.status != DataExport.Status.READY or export.file_deleted_at or export.invalidated_at:
        return False
    now = timezone.now()
    if not export.link_expires_at or export.link_expires_at <= now:
        export.link_expires_at = now + timedelta(days=settings.LEVQOR_DSAR_LINK_DAYS)
        export.save(update_fields=["link_expires_at"])
    audit.record(actor=actor, action="dsar.export_resent", target=export, details={"user_id": export.user_id})
    _email_link(export, reason="resend")
    return True


@transaction.atomic
def export_invalidate(*, export: DataExport, actor) -> bool:
    """Make every link sent for this export stop working. Safe to run twice."""
    export = _locked(export)
    if export.invalidated_at is not None:
        return False
    export.invalidated_at = timezone.now()
    export.link_version += 1
    export.save(update_fields=["invalidated_at", "link_version"])
    audit.record(actor=actor, action="dsar.export_invalidated", target=export, details={"user_id": export.user_id})
    return True


@transaction.atomic
def export_rebuild(*, export: DataExport, actor) -> bool:
    """Queue a fresh build (new file, new link; old links stop working).
    Not while one is building."""
    export = _locked(export)
    if export.status == DataExport.Status.BUILDING:
        return False
    export.status = DataExport.Status.QUEUED
    export.attempts = 0
    export.error = ""
    export.invalidated_at = None
    export.link_version += 1
    export.save(update_fields=["status", "attempts", "error", "invalidated_at", "link_version"])
    audit.record(actor=actor, action="dsar.export_rebuild", target=export, details={"user_id": export.user_id})
    transaction.on_commit(lambda: enqueue_build(export.pk))
    return True


@transaction.atomic
def export_extend_deadline(*, export: DataExport, months: int, reason: str, actor) -> DataExport:
    """Extend an export's deadline (see deadline_extend). Raises ValidationError."""
    export = _locked(export)
    deadline_extend(obj=export, months=months, reason=reason, actor=actor, kind="export", email=export.user.email)
    return export


def export_viewed(*, export: DataExport, actor) -> None:
    """Audit a staff member opening an export in admin."""
    audit.record(actor=actor, action="dsar.export_viewed", target=export, details={"user_id": export.user_id})


def export_downloaded(*, export: DataExport, actor) -> None:
    audit.record(actor=actor, action="dsar.export_downloaded", target=export, details={"user_id": export.user_id})


# --- files ---------------------------------------------------------------------------------


def _delete_files(exports: QuerySet) -> int:
    deleted = 0
    for export in exports.only("pk", "file_name").iterator(chunk_size=500):
        default_storage.delete(export.file_name)
        DataExport.objects.filter(pk=export.pk).update(file_deleted_at=timezone.now())
        deleted += 1
    return deleted


def exports_delete_files(*, user) -> int:
    """Delete every stored export file of this user (erasure) and stop their links."""
    DataExport.objects.filter(user=user, invalidated_at__isnull=True).update(
        invalidated_at=timezone.now(), link_version=F("link_version") + 1
    )
    return _delete_files(DataExport.objects.filter(user=user, file_deleted_at__isnull=True).exclude(file_name=""))


def exports_prune_files(*, cutoff: datetime) -> int:
    """Delete the files of exports whose link expired before `cutoff`. The
    rows stay: they prove the request was answered, and when."""
    return _delete_files(exports_expired_before(cutoff))


def export_open(export: DataExport):
    return default_storage.open(export.file_name, "rb")
