from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from compliance.dsar import processing
from levqor import plans


def pricing_context() -> dict:
    return {
        "plans": plans.PLANS,
        "dfy_tiers": plans.DFY_TIERS,
        "money_back_days": plans.MONEY_BACK_DAYS,
        "trial_text": plans.TRIAL_TEXT,
        "trial_days": plans.TRIAL_DAYS,
    }


def render_pricing_html() -> str:
    """The pricing page's HTML without a request: what the system check reads."""
    return render_to_string("pages/pricing.html", pricing_context())


def _page(template: str):
    @require_safe
    def view(request):
        return render(request, template, pricing_context())

    return view


home = _page("pages/home.html")
pricing = _page("pages/pricing.html")
dfy_contract = _page("pages/dfy_contract.html")
terms = _page("pages/terms.html")


@require_safe
def privacy(request):
    # The processors listed here are the records of processing's own table.
    return render(request, "pages/privacy.html", {**pricing_context(), "processors": processing.PROCESSORS})


refunds = _page("pages/refunds.html")
sla = _page("pages/sla.html")
business_continuity = _page("pages/business_continuity.html")
