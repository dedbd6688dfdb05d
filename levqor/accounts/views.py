from django.contrib import auth
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from compliance import lockout
from levqor.lib.ratelimit import ratelimit
from levqor.lib.security import without_secrets

from . import services
from .forms import LoginForm

# The sign-in token waiting for the person to press "Sign in" (see `magic`).
PENDING_SIGN_IN = "levqor_sign_in"


def _safe_next(request, candidate: str) -> str:
    """A same-site address to go on to, never carrying a sign-in token, never
    the sign-in pages themselves."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        candidate = without_secrets(candidate)
        if not candidate.startswith((reverse("accounts:login"), reverse("accounts:magic"))):
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


def _link_failed(request):
    """A spent, expired or forged link: a clear page, one WARNING line (no
    token in it) and one failed sign-in counted towards the lockout."""
    lockout.sign_in_failed(request, reason="sign-in link did not work")
    return render(request, "accounts/magic_invalid.html", status=400)


@require_http_methods(["GET", "POST"])
def magic(request):
    """Sign in from an emailed link.

    Opening the link only shows a button: mail scanners that prefetch links
    must not spend the one-time token. The token moves from the address into
    the session at once and the browser is sent to the bare `/login/magic`,
    so it never sits in the address bar, a form, a `next` parameter or the
    page; pressing "Sign in" spends it."""
    if lockout.is_locked_out(request):
        return lockout.lockout_response(request)
    pending = request.session.get(PENDING_SIGN_IN) or {}
    if request.method == "GET" and "token" in request.GET:
        token = request.GET.get("token", "")
        if services.login_token_user(token=token) is None:
            return _link_failed(request)
        request.session[PENDING_SIGN_IN] = {"token": token, "next": _safe_next(request, request.GET.get("next", ""))}
        return redirect("accounts:magic")
    if request.method == "GET":
        if not pending:
            return render(request, "accounts/magic_invalid.html", status=400)
        user = services.login_token_user(token=pending.get("token", ""))
        if user is None:
            request.session.pop(PENDING_SIGN_IN, None)
            return _link_failed(request)
        return render(request, "accounts/magic_confirm.html", {"who": user.email})
    # A client may also post the token itself; our pages never put it in a form.
    token = request.POST.get("token") or pending.get("token", "")
    next_url = _safe_next(request, request.POST.get("next") or pending.get("next", ""))
    request.session.pop(PENDING_SIGN_IN, None)
    user = services.login_token_spend(token=token)
    if user is None:
        return _link_failed(request)
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
