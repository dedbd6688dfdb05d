"""Pages: the public /api-docs and the signed-in API keys page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from . import docs, quotas, selectors, services, usage
from .errors import ERROR_CODES
from .forms import ApiKeyCreateForm, ApiKeyRotateForm


@require_safe
def api_docs(request):
    context = {
        "base_url": settings.LEVQOR_BASE_URL,
        "endpoints": docs.endpoints(settings.LEVQOR_BASE_URL),
        "quotas": quotas.quota_table(),
        "errors": [{"code": code, "status": status, "meaning": text} for code, (status, text) in ERROR_CODES.items()],
        "burst_window": settings.LEVQOR_API_BURST_WINDOW,
        "burst_per_key": settings.LEVQOR_API_BURST_PER_KEY,
        "burst_per_ip": settings.LEVQOR_API_BURST_PER_IP,
        "default_overlap_hours": services.DEFAULT_OVERLAP_HOURS,
    }
    return render(request, "api/docs.html", context)


def _account(request):
    account = request.user.account
    if account is None:
        raise Http404("Staff logins have no API keys; manage keys in the admin.")
    return account


def _key(request, key_id):
    key = selectors.api_key_get(account=_account(request), key_id=key_id)
    if key is None:
        raise Http404("No such key.")
    return key


# The secret of a key just issued waits in the session for the one GET that
# shows it (POST-redirect-GET: reloading that page cannot create or rotate
# again, and shows the secret no more).
_SHOWN_ONCE = "levqor.api.key_shown_once"


def _show_once(request, issued, *, rotated_from=None):
    request.session[_SHOWN_ONCE] = {
        "key_id": issued.key.pk,
        "secret": issued.secret,
        "rotated_from_id": rotated_from.pk if rotated_from else None,
    }
    return redirect("api:key_shown")


@login_required
@never_cache
@require_safe
def api_key_shown(request):
    """The new key's secret, once; afterwards the page says it cannot be shown again."""
    account = _account(request)
    pending = request.session.pop(_SHOWN_ONCE, None)
    key = selectors.api_key_get(account=account, key_id=pending["key_id"]) if pending else None
    if key is None:
        messages.info(request, "A key's secret is shown only once. If you did not copy it, rotate the key.")
        return redirect("api:keys")
    rotated_from = None
    if pending["rotated_from_id"]:
        rotated_from = selectors.api_key_get(account=account, key_id=pending["rotated_from_id"])
    context = {"key": key, "secret": pending["secret"], "rotated_from": rotated_from}
    response = render(request, "api/key_created.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def api_keys(request):
    account = _account(request)
    form = ApiKeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.api_key_create(account=account, **form.cleaned_data, actor=request.user)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            return _show_once(request, issued)
    keys = list(selectors.api_key_list(account=account))
    month = usage.account_usage(account=account, keys=keys)
    context = {
        "form": form,
        "keys": keys,
        "usage": month,
        "chart": usage.usage_chart(month["daily"]),
        "rotate_form": ApiKeyRotateForm(auto_id=False),
        "usage_live": quotas.quota_peek(account_id=account.pk, plan=account.plan, sandbox=False),
        "usage_sandbox": quotas.quota_peek(account_id=account.pk, plan=account.plan, sandbox=True),
    }
    return render(request, "api/keys.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def api_key_rotate(request, key_id):
    key = _key(request, key_id)
    form = ApiKeyRotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how long the old key should keep working.")
        return redirect("api:keys")
    try:
        issued = services.api_key_rotate(key=key, overlap_hours=form.cleaned_data["overlap_hours"], actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("api:keys")
    return _show_once(request, issued, rotated_from=key)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def api_key_revoke(request, key_id):
    """GET: what revoking this key breaks, and a button; POST: revoke it."""
    key = _key(request, key_id)
    if request.method == "GET":
        if key.state() not in ("active", "rotating"):
            messages.info(request, f"Key {key.prefix}… is already {key.state()}.")
            return redirect("api:keys")
        return render(request, "api/key_revoke.html", {"key": key})
    if services.api_key_revoke(key=key, actor=request.user):
        messages.success(request, f"Key {key.prefix}… revoked: calls with it now get 401.")
    else:
        messages.info(request, f"Key {key.prefix}… was already revoked.")
    return redirect("api:keys")
