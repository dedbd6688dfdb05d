import ipaddress

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from levqor.lib.ratelimit import ratelimit
from levqor.lib.security import client_ip, without_secrets

from . import consent, marketing, objections, screening, terms
from .forms import AppealForm, CookiePreferencesForm, ObjectionForm, PreferencesForm, SubscribeForm, TermsAcceptForm
from .models import CookieConsent, MarketingSubscription, ScreeningBlock, ScreeningRule


def _safe_next(request, candidate: str, default: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return without_secrets(candidate)
    return default


def _ip_or_none(request) -> str | None:
    try:
        return str(ipaddress.ip_address(client_ip(request)))
    except ValueError:
        return None


# --- cookie consent -------------------------------------------------------------------


@require_safe
def cookie_preferences(request):
    state = consent.state_from_request(request)
    initial = {c: state.allows(c) for c in consent.OPTIONAL} if state else {}
    return render(
        request,
        "compliance/cookies.html",
        {
            "form": CookiePreferencesForm(initial=initial),
            "state": state,
            "next": _safe_next(request, request.GET.get("next", ""), ""),
        },
    )


@require_POST
@ratelimit("cookie-consent", rate="60/10m")
def cookie_consent(request):
    """The banner's and the preferences page's form. Works without JavaScript."""
    choice = request.POST.get("choice", "")
    if choice == "accept_all":
        values, mechanism = dict.fromkeys(consent.OPTIONAL, True), CookieConsent.Mechanism.ACCEPT_ALL
    elif choice == "reject_all":
        values, mechanism = dict.fromkeys(consent.OPTIONAL, False), CookieConsent.Mechanism.REJECT_ALL
    elif choice == "save":
        form = CookiePreferencesForm(request.POST)
        form.is_valid()  # booleans: every input is valid
        values = {c: bool(form.cleaned_data.get(c)) for c in consent.OPTIONAL}
        mechanism = CookieConsent.Mechanism.CUSTOM
    else:
        return render(
            request,
            "compliance/cookies.html",
            {"form": CookiePreferencesForm(), "error": "Choose Accept all, Reject all or Save my choices."},
            status=400,
        )
    record = consent.consent_record(request=request, mechanism=mechanism, **values)
    response = redirect(_safe_next(request, request.POST.get("next", ""), reverse("compliance:cookies")))
    consent.set_cookie(response, record, secure=request.is_secure())
    messages.success(request, "Your cookie choices are saved. Change them at any time from “Cookie preferences”.")
    return response


# --- terms of service -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def terms_accept(request):
    version = terms.terms_current()
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""), reverse("accounts:home"))
    if version is None:
        return redirect(next_url)
    accepted = terms.terms_acceptance_for(user=request.user, version=version)
    form = TermsAcceptForm(request.POST or None, initial={"version": version.version})
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["version"] != version.version:
            form.add_error(None, "The terms changed while you were reading. Please read the new version below.")
        else:
            terms.terms_accept(
                user=request.user,
                version=version,
                ip_address=_ip_or_none(request),
                user_agent=request.headers.get("User-Agent", ""),
                mechanism="web",
            )
            return redirect(next_url)
    status = 400 if request.method == "POST" else 200
    context = {
        "version": version,
        # The words being accepted: the same rendering as /terms/v/<version>.
        "document": terms.terms_document(version=version),
        "form": form,
        "next": next_url,
        "accepted": accepted,
        # A first-ever acceptance is not a change: only someone who accepted
        # an earlier version is told the terms "have changed".
        "changed": terms.terms_accepted_before(user=request.user, version=version),
    }
    return render(request, "compliance/terms_accept.html", context, status=status)


# --- marketing --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@ratelimit("subscribe", rate="10/10m")
def marketing_subscribe(request):
    initial = {"email": request.user.email} if request.user.is_authenticated else {}  # no topic is pre-ticked
    form = SubscribeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        marketing.marketing_subscribe(
            email=form.cleaned_data["email"], topics=form.topics(), source="web", user=request.user
        )
        # Same answer whether new, pending or already confirmed.
        return render(request, "compliance/marketing_check_email.html", {"email": form.cleaned_data["email"]})
    status = 400 if request.method == "POST" else 200
    return render(request, "compliance/marketing_subscribe.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def marketing_confirm(request, token):
    """GET shows a button (mail scanners prefetch links); POST confirms."""
    if request.method == "GET":
        return render(request, "compliance/marketing_confirm.html", {"token": token})
    subscription = marketing.marketing_confirm(token=token)
    if subscription is None:
        return render(request, "compliance/marketing_link_invalid.html", status=400)
    return redirect("compliance:marketing_preferences", token=marketing.manage_token(subscription))


def _subscription_or_404(token) -> MarketingSubscription:
    subscription = marketing.subscription_from_manage_token(token)
    if subscription is None:
        raise Http404("Unknown link")
    return subscription


@require_http_methods(["GET", "POST"])
def marketing_preferences(request, token):
    subscription = _subscription_or_404(token)
    form = PreferencesForm(request.POST or None, initial=subscription.topics)
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "unsubscribe":
            marketing.marketing_unsubscribe(subscription=subscription)
            return redirect("compliance:marketing_unsubscribe", token=token)
        marketing.marketing_preferences_set(subscription=subscription, topics=form.topics())
        subscription.refresh_from_db()
        if subscription.status == MarketingSubscription.Status.UNSUBSCRIBED:
            return redirect("compliance:marketing_unsubscribe", token=token)
        messages.success(request, "Your email preferences are saved.")
        return redirect("compliance:marketing_preferences", token=token)
    return render(request, "compliance/marketing_preferences.html", {"form": form, "subscription": subscription})


@csrf_exempt  # RFC 8058 one-click: mail providers POST here without our CSRF token
@require_http_methods(["GET", "POST"])
def marketing_unsubscribe(request, token):
    subscription = _subscription_or_404(token)
    if request.method == "POST":
        marketing.marketing_unsubscribe(subscription=subscription)
        subscription.refresh_from_db()
    return render(
        request,
        "compliance/marketing_unsubscribe.html",
        {"subscription": subscription, "token": token, "done": subscription.status == "unsubscribed"},
    )


# --- right to object ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def opt_out(request):
    form = ObjectionForm(request.POST or None, initial=objections.objections_for(user=request.user))
    if request.method == "POST" and form.is_valid():
        changed = objections.objections_set(
            user=request.user,
            choices={kind: bool(form.cleaned_data.get(kind)) for kind in objections.KINDS},
            source="web",
            actor=request.user,
        )
        note = "Your choices are saved." if changed else "Nothing changed: these were your choices already."
        messages.success(request, note)
        return redirect("compliance:opt_out")
    return render(request, "compliance/opt_out.html", {"form": form})


# --- high-risk data --------------------------------------------------------------------------


@require_safe
def high_risk_data(request):
    rules = ScreeningRule.objects.filter(is_active=True).order_by("category", "severity", "name")
    return render(request, "compliance/high_risk_data.html", {"rules": rules})


@login_required
@require_http_methods(["GET", "POST"])
def screening_appeal(request, block_id):
    account_id = getattr(request.user, "account_id", None)
    if account_id is None:
        raise Http404("No such block")
    block = get_object_or_404(ScreeningBlock, pk=block_id, account_id=account_id)
    form = AppealForm(request.POST or None)
    if request.method == "POST" and block.status == ScreeningBlock.Status.BLOCKED and form.is_valid():
        screening.appeal_submit(block=block, user=request.user, explanation=form.cleaned_data["explanation"])
        messages.success(request, "Your appeal is with our compliance team. We will email you their decision.")
        return redirect("compliance:screening_appeal", block_id=block.pk)
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "compliance/appeal.html", {"screening_block": block, "form": form}, status=status)
