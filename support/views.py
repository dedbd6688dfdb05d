"""Customer pages: thin views over selectors and services. Usable without
JavaScript (plain forms, server-rendered errors). Another account's request
or dispute is a 404, never a 403."""

from datetime import UTC

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from billing import catalogue, purchases
from billing.signup import CheckoutError
from levqor.lib.ratelimit import ratelimit

from . import attachments, rules, selectors, services
from .forms import DisputeForm, DisputeMessageForm, MoreInfoForm, SlaCreditForm, TicketForm, TicketReplyForm
from .models import SlaCreditRequest


def _form_errors(form, exc: ValidationError, **aliases: str) -> None:
    for field, errors in exc.message_dict.items():
        field = aliases.get(field, field)
        form.add_error(field if field in form.fields else None, errors)


def _account_or_none(request):
    return getattr(request.user, "account", None)


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit("support-sla-credit", rate="10/h")
def sla_credits(request):
    """The SLA credit page: when credits apply, the form, the customer's requests."""
    account = _account_or_none(request)
    today = timezone.now().astimezone(UTC).date()
    form = SlaCreditForm(initial={"period_kind": "month"}, today=today)
    if request.method == "POST" and account is not None:
        form = SlaCreditForm(request.POST, request.FILES, today=today)
        if form.is_valid():
            try:
                filed = services.sla_request_file(
                    account=account,
                    user=request.user,
                    plan=account.plan,
                    period=form.period(),
                    impact=form.cleaned_data["impact"],
                    description=form.cleaned_data["description"],
                    attachment=form.cleaned_data.get("attachment"),
                    actor=request.user,
                )
            except ValidationError as exc:
                # The period's errors belong beside the field the customer filled in.
                period_field = "month" if form.cleaned_data["period_kind"] == "month" else "incident_date"
                _form_errors(form, exc, period=period_field)
            else:
                messages.success(request, f"Request #{filed.pk} received. We will email you our decision.")
                return redirect("support:sla_credit_detail", filed.pk)
    context = {
        "account": account,
        "form": form,
        "requests": selectors.sla_request_list(account=account) if account else [],
        "tiers": rules.tiers(),
        "limits": attachments.describe_limits(),
    }
    return render(request, "support/sla_credits.html", context, status=400 if form.errors else 200)


def _own_request(request, request_id) -> SlaCreditRequest:
    account = _account_or_none(request)
    found = selectors.sla_request_get(account=account, request_id=request_id) if account else None
    if found is None:
        raise Http404("No such request.")
    return found


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit("support-sla-credit", rate="10/h")
def sla_credit_detail(request, request_id: int):
    """One request: what was claimed, its status and decision; more information when asked."""
    credit = _own_request(request, request_id)
    form = MoreInfoForm()
    if request.method == "POST":
        form = MoreInfoForm(request.POST)
        if form.is_valid():
            try:
                services.sla_request_add_info(
                    request=credit, user=request.user, body=form.cleaned_data["body"], actor=request.user
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Thank you: your information was sent to support.")
                return redirect("support:sla_credit_detail", credit.pk)
    context = {"credit": credit, "form": form, "messages_list": credit.messages.select_related("author")}
    return render(request, "support/sla_credit_detail.html", context, status=400 if form.errors else 200)


@login_required
def sla_credit_attachment(request, request_id: int):
    """The attachment, to the account's users and staff only, always as a download."""
    if request.user.is_staff:
        credit = SlaCreditRequest.objects.filter(pk=request_id).first()
    else:
        credit = _own_request(request, request_id)
    if credit is None or not credit.attachment:
        raise Http404("No attachment.")
    response = FileResponse(
        credit.attachment.open("rb"),
        as_attachment=True,
        filename=credit.attachment_name or "attachment",
        content_type=credit.attachment_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
@ratelimit("support-dispute", rate="10/h")
def disputes(request):
    """The disputes page: the resolution process and chargeback guidance for
    everyone (/refunds links here); the form and their own disputes for a
    signed-in customer."""
    if request.method == "POST" and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    account = _account_or_none(request) if request.user.is_authenticated else None
    form = DisputeForm()
    if request.method == "POST" and account is not None:
        form = DisputeForm(request.POST)
        if form.is_valid():
            try:
                dispute = services.dispute_open(
                    account=account, user=request.user, actor=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, f"Dispute #{dispute.pk} opened. Support will reply by email.")
                return redirect("support:dispute_detail", dispute.pk)
    context = {
        "account": account,
        "form": form,
        "disputes": selectors.dispute_list(account=account) if account else [],
    }
    return render(request, "support/disputes.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit("support-dispute", rate="10/h")
def dispute_detail(request, dispute_id: int):
    """One dispute with its status, resolution notes and replies (never internal notes)."""
    account = _account_or_none(request)
    dispute = selectors.dispute_get(account=account, dispute_id=dispute_id) if account else None
    if dispute is None:
        raise Http404("No such dispute.")
    form = DisputeMessageForm()
    if request.method == "POST":
        form = DisputeMessageForm(request.POST)
        if form.is_valid():
            try:
                services.dispute_customer_message(
                    dispute=dispute, user=request.user, body=form.cleaned_data["body"], actor=request.user
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Message sent to support.")
                return redirect(reverse("support:dispute_detail", args=[dispute.pk]))
    context = {
        "dispute": dispute,
        "form": form,
        "thread": selectors.dispute_public_messages(dispute=dispute),
    }
    return render(request, "support/dispute_detail.html", context, status=400 if form.errors else 200)


def emergency_contacts(request):
    """Public: the severity-1 procedure and who to call."""
    return render(request, "support/emergency_contacts.html", {"support_email": settings.LEVQOR_SUPPORT_EMAIL})


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit("support-ticket", rate="20/h")
def tickets(request):
    """The support page: open a ticket (first response within the plan's hours), and the customer's tickets."""
    account = _account_or_none(request)
    form = TicketForm()
    if request.method == "POST" and account is not None:
        form = TicketForm(request.POST)
        if form.is_valid():
            try:
                ticket = services.ticket_open(
                    account=account, user=request.user, actor=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, f"Ticket #{ticket.pk} opened. We will reply by email.")
                return redirect("support:ticket_detail", ticket.pk)
    context = {
        "account": account,
        "form": form,
        "sla_hours": account.plan_facts.support_sla_hours if account else None,
        "tickets": selectors.ticket_list(account=account) if account else [],
    }
    return render(request, "support/tickets.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit("support-ticket", rate="20/h")
def ticket_detail(request, ticket_id: int):
    """One ticket with its thread (never internal notes), and a reply form."""
    account = _account_or_none(request)
    ticket = selectors.ticket_get(account=account, ticket_id=ticket_id) if account else None
    if ticket is None:
        raise Http404("No such ticket.")
    form = TicketReplyForm()
    if request.method == "POST":
        form = TicketReplyForm(request.POST)
        if form.is_valid():
            try:
                services.ticket_customer_reply(
                    ticket=ticket, user=request.user, body=form.cleaned_data["body"], actor=request.user
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Reply sent to support.")
                return redirect("support:ticket_detail", ticket.pk)
    context = {"ticket": ticket, "form": form, "thread": selectors.ticket_public_messages(ticket=ticket)}
    return render(request, "support/ticket_detail.html", context, status=400 if form.errors else 200)


@ratelimit("dfy-checkout", rate="20/h")  # each post asks Stripe for a session
@require_http_methods(["POST"])
def dfy_checkout(request):
    """ "Order this build" on /pricing: a Stripe Checkout Session in payment
    mode for the tier, then 303 to it. A visitor not signed in is sent to
    sign in first (the order belongs to an account); 400 for a tier the
    catalogue does not have; 503 when Stripe cannot be asked now."""
    try:
        item = catalogue.dfy_offer(request.POST.get("tier", ""))
    except ValueError:
        return render(request, "billing/checkout_problem.html", {"problem": "That build does not exist."}, status=400)
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("pages:pricing") + "#dfy")
    if _account_or_none(request) is None:  # a staff login: no account to order for
        problem = "A build is ordered for a customer account: sign in as the customer."
        return render(request, "billing/checkout_problem.html", {"problem": problem}, status=400)
    try:
        url = purchases.dfy_checkout_start(item=item, user=request.user, success_path=reverse("support:dfy_orders"))
    except CheckoutError as exc:
        return render(request, "billing/checkout_problem.html", {"problem": str(exc)}, status=503)
    response = redirect(url)
    response.status_code = 303  # the browser follows a POST's redirect with a GET
    return response


@login_required
def dfy_orders(request):
    """The customer's DFY orders; Stripe's success URL lands here (the order
    appears when Stripe's event arrives, moments after payment)."""
    account = _account_or_none(request)
    orders = list(selectors.dfy_orders_for_account(account=account)) if account else []
    just_paid = bool(request.GET.get("session_id"))
    return render(request, "support/dfy_orders.html", {"orders": orders, "just_paid": just_paid})


@login_required
def dfy_order_detail(request, order_id: int):
    """A customer's DFY order: its timeline against the contract and the due date."""
    account = _account_or_none(request)
    order = selectors.dfy_order_get(account=account, order_id=order_id) if account else None
    if order is None:
        raise Http404("No such order.")
    return render(request, "support/dfy_order.html", {"order": order, "steps": dfy_steps(order)})


def dfy_steps(order) -> list[tuple[str, object]]:
    """The order's milestones in contract order, each with its date (None: not yet)."""
    return [
        ("Paid", order.paid_at),
        ("Brief approved", order.brief_approved_at),
        ("Access given", order.access_given_at),
        ("Build starts", order.start_date),
        ("Due by", order.due_date),
        ("Delivered", order.delivered_at),
        ("Acceptance window ends", order.acceptance_ends_on),
        ("Accepted", order.accepted_at),
    ]
