from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

from levqor.lib.banners import Banner

from . import selectors

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
    """The customer's billing page: the open dunning case, its stage and
    the link to pay the invoice or update the card."""
    account = request.user.account
    case = selectors.case_open_for_account(account=account) if account else None
    return render(request, "billing/overview.html", {"account": account, "case": case})
