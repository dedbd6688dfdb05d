"""Attachments on SLA credit requests: size and type limited, checked by
their content (not only their name), stored privately under a random name
in the default storage (local files, or S3 without public ACLs) and served
only through `support.views.sla_credit_attachment` to the owner or staff."""

from django.conf import settings
from django.core.exceptions import ValidationError

# extension → (content type, how the file must start; None: UTF-8 text)
ALLOWED = {
    "pdf": ("application/pdf", b"%PDF-"),
    "png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    "jpg": ("image/jpeg", b"\xff\xd8\xff"),
    "jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    "txt": ("text/plain", None),
    "csv": ("text/csv", None),
    "log": ("text/plain", None),
}


def max_bytes() -> int:
    return settings.LEVQOR_SUPPORT_ATTACHMENT_MAX_BYTES


def describe_limits() -> str:
    return f"PDF, PNG, JPEG, TXT, CSV or LOG, at most {max_bytes() // (1024 * 1024)} MB"


def attachment_check(upload) -> tuple[str, str, int]:
    """(original name, content type, size) of an acceptable upload; raises
    ValidationError on the `attachment` field otherwise."""
    name = (getattr(upload, "name", "") or "").rsplit("/", 1)[-1][:200]
    size = getattr(upload, "size", None) or 0
    if size > max_bytes():
        raise ValidationError({"attachment": [f"The file is too large ({size:,} bytes): {describe_limits()}."]})
    if size == 0:
        raise ValidationError({"attachment": ["The file is empty."]})
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ALLOWED:
        raise ValidationError({"attachment": [f"That type of file is not accepted: {describe_limits()}."]})
    content_type, magic = ALLOWED[extension]
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    if magic is not None and not head.startswith(magic):
        raise ValidationError({"attachment": [f"The file's content is not a {extension.upper()} file."]})
    if magic is None:
        try:
            if b"\x00" in head:
                raise UnicodeDecodeError("utf-8", head, 0, 1, "NUL byte")
            head.decode("utf-8", errors="strict") if len(head) < 4096 else head[:4000].decode("utf-8", "ignore")
        except UnicodeDecodeError:
            raise ValidationError({"attachment": ["A text attachment must be plain UTF-8 text."]}) from None
    return name, content_type, size


# --- Chargeback evidence files (uploaded to Stripe's Files API) ----------------------------
# Stripe's limits for purpose=dispute_evidence: PDF, JPEG or PNG, at most 5 MB a
# file (https://docs.stripe.com/file-upload), and at most 4.5 MB for all of a
# dispute's evidence files together (https://docs.stripe.com/disputes/best-practices).
EVIDENCE_TYPES = {
    "pdf": ("application/pdf", b"%PDF-"),
    "png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    "jpg": ("image/jpeg", b"\xff\xd8\xff"),
    "jpeg": ("image/jpeg", b"\xff\xd8\xff"),
}
EVIDENCE_FILE_MAX_BYTES = 5 * 1024 * 1024
EVIDENCE_TOTAL_MAX_BYTES = 4_718_592  # 4.5 MB


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def evidence_file_check(upload, *, others_bytes: int = 0) -> tuple[str, str, int]:
    """(name, content type, size) of a file Stripe accepts as dispute
    evidence; raises ValidationError on `file` with the reason otherwise.
    `others_bytes`: the dispute's other evidence files, which count towards
    Stripe's combined limit."""
    name = (getattr(upload, "name", "") or "").rsplit("/", 1)[-1][:200]
    size = getattr(upload, "size", None) or 0
    if size == 0:
        raise ValidationError({"file": ["The file is empty."]})
    if size > EVIDENCE_FILE_MAX_BYTES:
        raise ValidationError(
            {
                "file": [
                    f"The file is {_mb(size)}: Stripe accepts evidence files of at most {_mb(EVIDENCE_FILE_MAX_BYTES)}."
                ]
            }
        )
    if size + others_bytes > EVIDENCE_TOTAL_MAX_BYTES:
        raise ValidationError(
            {
                "file": [
                    f"With this file the evidence would be {_mb(size + others_bytes)}: Stripe accepts at most "
                    f"{_mb(EVIDENCE_TOTAL_MAX_BYTES)} of files per dispute. Use a smaller file or remove another."
                ]
            }
        )
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in EVIDENCE_TYPES:
        raise ValidationError({"file": ["Stripe accepts PDF, JPEG or PNG files as evidence only."]})
    content_type, magic = EVIDENCE_TYPES[extension]
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not head.startswith(magic):
        raise ValidationError({"file": [f"The file's content is not a {extension.upper()} file."]})
    return name, content_type, size
