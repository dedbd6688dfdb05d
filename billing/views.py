from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from compliance.abuse import signup_observed
from levqor.lib.banners import Banner
from levqor.lib.ratelimit import ratelimit
from levqor.lib.security import client_ip
from levqor.plans import TRIAL_TEXT

from . import catalogue, selectors, signup, statement
from .forms import CheckoutForm


def _see_other(url: str) -> HttpResponseRedirect:
    """303: the browser follows a POST's redirect with a GET."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


PAUSED_TEXT = "Your account is paused due to failed payments. Please update billing."


def paused_banner(request) -> list[Banner]:
    """On every signed-in page of a paused account: one primary-key lookup of
    the user's account, nothing for anonymous visitors or staff."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.account_id:
        return []
    if not user.account.is_paused:
        return []
    return [Banner(level="danger", text=PAUSED_TEXT, link_url=reverse("billing:overview"), link_text="Update billing")]


@login_required
def overview(request):
    """The customer's billing page: plan, trial, next invoice, card and
    invoices (from the dj-stripe mirror), the open dunning case with the
    link to pay it, and "Manage billing" (the Stripe Billing Portal)."""
    account = request.user.account
    case = selectors.case_open_for_account(account=account) if account else None
    bill = statement.statement_for(account) if account else None
    return render(request, "billing/overview.html", {"account": account, "case": case, "statement": bill})


@ratelimit("checkout", rate="20/h")  # each post asks Stripe for a session
@require_POST
def checkout(request):
    """ "Start free trial" on /pricing: a Stripe Checkout Session, then 303 to
    it. 400 for a plan or interval the catalogue does not have; 503 (with a
    page saying so) when Stripe cannot be asked now."""
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        return render(request, "billing/checkout_problem.html", {"problem": "That plan does not exist."}, status=400)
    user = request.user if request.user.is_authenticated else None
    account = getattr(user, "account", None)
    if account is not None and account.billing_state in signup.LIVE_STATES and account.stripe_customer_id:
        return redirect("billing:overview")  # change plan in the Billing Portal, not a second subscription
    # Each checkout started is a sign-up attempt: bursts from one address
    # are recorded as abuse signals (log-only).
    signup_observed(ip=client_ip(request))
    item = catalogue.offer(form.cleaned_data["plan"], form.cleaned_data["interval"])
    try:
        url = signup.checkout_start(item=item, user=user)
    except signup.CheckoutError as exc:
        return render(request, "billing/checkout_problem.html", {"problem": str(exc)}, status=503)
    return _see_other(url)


@require_safe
def welcome(request):
    """Stripe's success URL: what happens next (the account is made when
    Stripe's event arrives, moments later)."""
    return render(request, "billing/welcome.html", {"trial_text": TRIAL_TEXT})


@ratelimit("billing-portal", rate="30/h", methods=("GET", "POST"))
@login_required
@require_http_methods(["GET", "POST"])
def portal(request):
    """Manage billing: a Stripe Billing Portal session, then 303 to it.
    GET too, so emails can link it (a portal session expires within
    minutes, so emails link here, not to one); nothing of ours changes."""
    account = request.user.account
    if account is None:
        return redirect("billing:overview")
    try:
        url = signup.portal_url(account=account, return_url=request.build_absolute_uri(reverse("billing:overview")))
    except signup.CheckoutError as exc:
        return render(request, "billing/checkout_problem.html", {"problem": str(exc)}, status=503)
    return _see_other(url)
