"""/data-requests: the signed-in person's data exports and erasure request,
and the download view behind the emailed link. /privacy/request: anyone's
data request, its verification page and the address export's download."""

import tempfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from levqor.lib.ratelimit import ratelimit

from . import erasure, exports, privacy_requests
from .forms import ErasureRequestForm, PrivacyRequestForm
from .models import DataExport

# While an export is on its way the page reloads itself this often (no JavaScript needed).
REFRESH_SECONDS = 10


@login_required
@require_safe
def data_requests(request):
    recent = list(exports.export_list(user=request.user)[:20])
    rows = [(export, exports.link_url(export) if export.link_is_live else "") for export in recent]
    building = [e for e in recent if e.status in (DataExport.Status.QUEUED, DataExport.Status.BUILDING)]
    return render(
        request,
        "compliance/dsar/data_requests.html",
        {
            "rows": rows,
            "next_allowed_at": exports.export_next_allowed_at(user=request.user),
            "limit_days": settings.LEVQOR_DSAR_MIN_DAYS_BETWEEN,
            "link_days": settings.LEVQOR_DSAR_LINK_DAYS,
            "erasure_open": erasure.erasure_open_for(user=request.user),
            "erasures": list(erasure.erasure_list(user=request.user)[:5]),
            "erasure_form": ErasureRequestForm(),
            "building": building,
            "refresh_seconds": REFRESH_SECONDS if building else None,
        },
    )


@login_required
@require_POST
@ratelimit("dsar-export", rate="10/10m")
def export_request(request):
    try:
        export = exports.export_request(user=request.user, via="web", actor=request.user)
    except exports.ExportTooSoon as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request,
            f"We are preparing your data export and will email a download link to {request.user.email}. "
            f"We must answer by {export.due_on:%d %B %Y}; it usually takes a few minutes.",
        )
    return redirect("compliance:data_requests")


@login_required
@require_POST
@ratelimit("dsar-erase", rate="10/10m")
def erasure_request(request):
    form = ErasureRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("compliance:data_requests")
    erasure.erasure_request(user=request.user, note=form.cleaned_data["note"], actor=request.user)
    messages.success(
        request,
        "We have your request to delete your data. Our team will review it and email you the outcome.",
    )
    return redirect("compliance:data_requests")


@login_required
@require_safe
def export_download(request, token: str):
    """Checks the signature, the link's age, invalidation and that the export
    is the signed-in person's own (anyone else gets 404), then streams it."""
    check = exports.link_check(token=token, user=request.user)
    if check.problem in ("invalid", "not_found"):
        raise Http404("No such data export.")
    if check.problem:
        return render(
            request,
            "compliance/dsar/link_invalid.html",
            {"problem": check.problem, "link_days": settings.LEVQOR_DSAR_LINK_DAYS},
            status=410,
        )
    export = check.export
    try:
        handle = exports.export_open(export)
    except (FileNotFoundError, OSError, ValidationError):
        raise Http404("The export file is no longer stored.") from None
    exports.export_downloaded(export=export, actor=request.user)
    stamp = timezone.localtime(export.requested_at).strftime("%Y-%m-%d")
    response = FileResponse(handle, as_attachment=True, filename=f"levqor-data-export-{stamp}.zip")
    response["Cache-Control"] = "private, no-store"
    return response


# --- /privacy/request: anyone, by email address ------------------------------------------


@require_http_methods(["GET", "POST"])
@ratelimit("privacy-request", rate="10/h")
def privacy_request(request):
    form = PrivacyRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        privacy_requests.privacy_request_submit(
            email=data["email"], kind=data["kind"], details=data["details"], objection_kinds=data["objection_kinds"]
        )
        # The same answer whether the address is known, new or over its limit.
        return render(request, "compliance/dsar/privacy_request_sent.html", {"email": data["email"]})
    status = 400 if request.method == "POST" else 200
    return render(request, "compliance/dsar/privacy_request.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@ratelimit("privacy-request-verify", rate="30/10m")
def privacy_request_verify(request, token: str):
    """GET shows a button (mail scanners prefetch links); POST verifies."""
    if request.method == "GET":
        return render(request, "compliance/dsar/privacy_request_verify.html", {"token": token})
    result = privacy_requests.privacy_request_verify(token=token)
    if result.problem:
        return render(request, "compliance/dsar/privacy_request_invalid.html", {"problem": result.problem}, status=400)
    return render(request, "compliance/dsar/privacy_request_verified.html", {"privacy_request": result.request})


@require_safe
@ratelimit("privacy-request-download", rate="30/10m", methods=("GET",))
def privacy_request_download(request, token: str):
    """The address export: built on the fly, for a valid, unexpired link."""
    found, problem = privacy_requests.link_check(token=token)
    if problem == "invalid":
        raise Http404("No such data export.")
    if problem:
        return render(
            request,
            "compliance/dsar/privacy_request_invalid.html",
            {"problem": "download_expired", "link_days": settings.LEVQOR_DSAR_LINK_DAYS},
            status=410,
        )
    handle = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    privacy_requests.address_archive(request=found, out=handle)
    handle.seek(0)
    privacy_requests.privacy_request_downloaded(request=found)
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response = FileResponse(handle, as_attachment=True, filename=f"levqor-data-{stamp}.zip")
    response["Cache-Control"] = "private, no-store"
    return response
