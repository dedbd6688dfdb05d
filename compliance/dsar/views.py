"""/data-requests: the signed-in person's data exports and erasure request,
and the download view behind the emailed link."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from levqor.lib.ratelimit import ratelimit

from . import erasure, exports
from .forms import ErasureRequestForm


@login_required
@require_safe
def data_requests(request):
    recent = list(exports.export_list(user=request.user)[:20])
    rows = [(export, exports.link_url(export) if export.link_is_live else "") for export in recent]
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
