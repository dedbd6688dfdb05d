from django.contrib import auth
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from sesame.utils import get_user

from compliance import lockout
from levqor.ratelimit import ratelimit

from . import services
from .forms import LoginForm


def _safe_next(request, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


@require_http_methods(["GET", "POST"])
@ratelimit("signin", rate="10/10m")
def login(request):
    if request.user.is_authenticated and not request.user.is_staff:
        return redirect("accounts:home")
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if lockout.is_locked_out(request, email=email):
            return lockout.lockout_response(request)
        # Requesting a link is not a failed sign-in, for known and unknown
        # addresses alike: counting only unknown ones would let anyone learn
        # which addresses are customers by watching when the lockout starts.
        # The per-IP rate limit above bounds requests; failed links count below.
        services.login_link_send(email=email, next_url=next_url)
        # Same answer whether or not the address is known: no account enumeration.
        return render(request, "accounts/login_sent.html", {"email": form.cleaned_data["email"]})
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


@require_http_methods(["GET", "POST"])
def magic(request):
    """Sign in from an emailed link. GET only shows a button: mail scanners
    that prefetch links must not spend the one-time token."""
    token = request.POST.get("token") or request.GET.get("token", "")
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    if lockout.is_locked_out(request):
        return lockout.lockout_response(request)
    if request.method == "GET":
        user = get_user(token, update_last_login=False) if token else None
        if user is None:
            return render(request, "accounts/magic_invalid.html", status=400)
        return render(request, "accounts/magic_confirm.html", {"token": token, "next": next_url, "who": user.email})
    user = services.login_token_spend(token=token)
    if user is None:
        lockout.sign_in_failed(request, reason="sign-in link did not work")
        return render(request, "accounts/magic_invalid.html", status=400)
    auth.login(request, user, backend="sesame.backends.ModelBackend")
    return redirect(next_url or reverse("accounts:home"))


@require_POST
def logout(request):
    auth.logout(request)
    return redirect("pages:home")


@login_required
def home(request):
    account = request.user.account
    return render(request, "accounts/home.html", {"account": account, "plan": account.plan_facts if account else None})
