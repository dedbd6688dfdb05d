"""One page per customer for staff (Admin → Customers): plan and billing
state, dunning cases, tickets, DFY orders, disputes and chargebacks, SLA credits, data
requests, API keys with this month's usage, and the audit timeline; and the
search that finds an account by email, name, Stripe customer, subscription
or invoice id, or API key prefix.

It lives in support because support may read billing (and everything below
it); the core may not. The URLs are wired in levqor/urls.py under /admin/.
"""

from django.contrib import admin
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from billing import selectors as billing_selectors
from compliance import audit
from compliance.models import DataExport, ErasureRequest
from levqor.accounts.models import Account
from levqor.api import usage
from levqor.api.models import ApiKey
from levqor.api.selectors import api_key_list

from .models import DfyOrder, Dispute, SlaCreditRequest, Ticket

SEARCH_LIMIT = 50
TIMELINE_LIMIT = 200


def account_search(term: str) -> list[Account]:
    """Accounts matching an email (any of their users), a name, a Stripe
    customer / subscription / invoice id, or an API key prefix."""
    term = (term or "").strip()
    if not term:
        return []
    query = Q(name__icontains=term) | Q(users__email__iexact=term) | Q(users__email__icontains=term)
    query |= Q(pk__in=billing_selectors.account_ids_for_stripe_ref(term))
    query |= Q(pk__in=ApiKey.objects.filter(prefix__startswith=term[:32]).values("account_id"))
    return list(Account.objects.filter(query).distinct().order_by("name")[:SEARCH_LIMIT])


def customer_overview(*, account: Account) -> dict:
    """Everything staff need about one account, each record with its admin link."""
    users = list(account.users.order_by("date_joined", "pk"))
    keys = list(api_key_list(account=account))
    records = {
        "dunning_cases": list(billing_selectors.case_list_for_account(account=account)),
        "tickets": list(Ticket.objects.filter(account=account).select_related("assignee").order_by("-opened_at")),
        "disputes": list(Dispute.objects.filter(account=account).order_by("-created_at")),
        "dfy_orders": list(DfyOrder.objects.filter(account=account).order_by("-created_at")),
        "sla_credits": list(SlaCreditRequest.objects.filter(account=account).order_by("-created_at")),
        "exports": list(DataExport.objects.filter(user__in=users).order_by("-pk")),
        "erasures": list(ErasureRequest.objects.filter(user__in=users).order_by("-pk")),
    }
    related = [obj for rows in records.values() for obj in rows]
    return {
        "account": account,
        "plan": account.plan_facts,
        "users": users,
        **records,
        "keys": keys,
        "usage": usage.account_usage(account=account, keys=keys),
        # The account, its people and every record above (and its keys), newest first.
        "timeline": audit.entries_for(account, *users, *related, *keys).order_by("-pk")[:TIMELINE_LIMIT],
        "now": timezone.now(),
    }


def customer_search_view(request):
    """Admin → Customers: the search box; one match opens its page. Wrapped in admin_view (staff only)."""
    term = request.GET.get("q", "")
    found = account_search(term)
    if term and len(found) == 1:
        return redirect("customer_page", found[0].pk)
    context = {
        **admin.site.each_context(request),
        "title": "Customers",
        "q": term,
        "found": found,
        "searched": bool(term.strip()),
    }
    return render(request, "admin/customers/search.html", context)


def customer_page_view(request, account_id: int):
    """One account as a whole. Wrapped in admin_view (staff only)."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise Http404("No such account.")
    context = {
        **admin.site.each_context(request),
        "title": f"Customer: {account.name}",
        **customer_overview(account=account),
    }
    return render(request, "admin/customers/page.html", context)
