from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from compliance import terms as terms_of_service
from compliance.dsar import processing
from levqor import plans
from levqor.metrics import telemetry

from .roi import RoiForm, roi_saving

# Set in the visitor's session when they dismiss the "Not ready yet?" aside
# (their own request: the session cookie is a necessary one).
NOT_READY_DISMISSED = "pricing_not_ready_dismissed"


def pricing_context() -> dict:
    return {
        "plans": plans.PLANS,
        "dfy_tiers": plans.DFY_TIERS,
        "money_back_days": plans.MONEY_BACK_DAYS,
        "trial_text": plans.TRIAL_TEXT,
        "trial_days": plans.TRIAL_DAYS,
        "checkout_intervals": [("monthly", "monthly"), ("yearly", "yearly")],
    }


def roi_context(data=None) -> dict:
    """The calculator's form and, for a valid submission, the saving."""
    form = RoiForm(data) if data else RoiForm()
    saving = None
    if form.is_bound and form.is_valid():
        saving = roi_saving(hours_per_week=form.cleaned_data["hours"], hourly_rate=form.cleaned_data["rate"])
    return {"roi_form": form, "roi": saving, "cheapest_plan": plans.PLANS[0]}


def render_pricing_html() -> str:
    """The pricing page's HTML without a request: what the system check reads."""
    # A placeholder form token: the checkout buttons are forms, and there is no request here.
    context = {**pricing_context(), **roi_context(), "show_not_ready": True, "csrf_token": "pricing-check"}
    return render_to_string("pages/pricing.html", context)


def _page(template: str):
    @require_safe
    def view(request):
        return render(request, template, pricing_context())

    return view


home = _page("pages/home.html")


@require_safe
def pricing(request):
    """The pricing page, with the ROI calculator (a GET form: ?hours=&rate=)
    and the "Not ready yet?" aside unless the visitor dismissed it."""
    wanted = {name: request.GET[name] for name in ("hours", "rate") if name in request.GET}
    roi = roi_context(wanted or None)
    context = {
        **pricing_context(),
        **roi,
        "show_not_ready": not request.session.get(NOT_READY_DISMISSED, False),
    }
    if request.method == "GET":
        telemetry.telemetry_record(request=request, event="roi_calculated" if roi["roi"] else "pricing_viewed")
    response = render(request, "pages/pricing.html", context, status=400 if wanted and not roi["roi"] else 200)
    patch_vary_headers(response, ["Cookie"])
    return response


@require_safe
def not_ready_dismiss(request):
    """The no-JavaScript "Dismiss" link of the "Not ready yet?" aside."""
    request.session[NOT_READY_DISMISSED] = True
    return redirect("pages:pricing")


dfy_contract = _page("pages/dfy_contract.html")


def _terms_page(request, version, *, current):
    context = {
        **pricing_context(),
        "version": version,
        "current": current,
        "document": terms_of_service.terms_document(version=version) if version else "",
        "versions": terms_of_service.terms_published_versions(),
    }
    return render(request, "pages/terms.html", context)


@require_safe
def terms(request):
    """The terms of service: the current published version's own text, the
    words a customer accepts (compliance/terms.py)."""
    return _terms_page(request, terms_of_service.terms_current(), current=True)


@require_safe
def terms_version(request, version: str):
    """One published version, at its permanent address."""
    found = terms_of_service.terms_published(version=version)
    if found is None:
        raise Http404("No published version of the terms has that name.")
    current = terms_of_service.terms_current()
    return _terms_page(request, found, current=current is not None and current.pk == found.pk)


@require_safe
def privacy(request):
    # The processors listed here are the records of processing's own table.
    return render(request, "pages/privacy.html", {**pricing_context(), "processors": processing.PROCESSORS})


refunds = _page("pages/refunds.html")
sla = _page("pages/sla.html")
business_continuity = _page("pages/business_continuity.html")
