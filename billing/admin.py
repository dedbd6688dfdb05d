"""Billing admin: the dunning queue, each case's timeline and staff actions
(all through services), and the read-only Stripe event log with
"reprocess" and "link the customer". Dunning emails are the outbox's
(Compliance → Emails (outbox)): each case links to its own there."""

from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django_q.tasks import async_task

from compliance.outbox import services as outbox
from compliance.outbox.selectors import emails_about
from levqor.accounts.links import account_column
from levqor.accounts.models import Account
from levqor.lib.admin import (
    DefaultStatusFilter,
    EstimatedCountPaginator,
    KeepRecordsMixin,
    QuickRowsMixin,
    ReadOnlyAdmin,
    SubsetFilter,
    confirm_action,
    model_fields,
)
from levqor.plans import PLAN_CHOICES

from . import intake, linking, selectors, services, stages
from .admin_analytics import recovery_analytics_view
from .models import DunningCase, StripeEvent

INLINE_REPROCESS = 10  # more than this are reprocessed by the task queue


class CaseStatusFilter(DefaultStatusFilter):
    """Defaults to "pending": the cases someone may need to act on."""

    options = DunningCase.Status.choices
    default = DunningCase.Status.PENDING


class CaseAgeFilter(SubsetFilter):
    """Case age, cut at each stage's day of the ladder (`billing.stages`)."""

    title = "age"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [(key, title) for key, title, _, _ in stages.age_brackets()]

    def subset(self, request, queryset, value):
        now = timezone.now()
        for key, _, from_day, before_day in stages.age_brackets():
            if key == value:
                if from_day is not None:
                    queryset = queryset.filter(opened_at__lte=now - timedelta(days=from_day))
                if before_day is not None:
                    queryset = queryset.filter(opened_at__gt=now - timedelta(days=before_day))
                return queryset
        return queryset


class CaseDueFilter(SubsetFilter):
    title = "next step due"
    parameter_name = "due"
    options = [("today", "Due by end of today")]

    def subset(self, request, queryset, value):
        if value == "today":
            end = timezone.localtime().replace(hour=23, minute=59, second=59, microsecond=999999)
            return queryset.filter(next_action_at__lte=end)
        return queryset


class CasePlanFilter(SubsetFilter):
    title = "plan"
    parameter_name = "plan"
    options = PLAN_CHOICES
    field = "account__plan"


@admin.register(DunningCase)
class DunningCaseAdmin(QuickRowsMixin, KeepRecordsMixin, admin.ModelAdmin):
    list_display = (
        "id",
        account_column,
        "plan",
        "status",
        "stage",
        "amount_display",
        "attempt_count",
        "hard_decline",
        "opened_at",
        "next_action_at",
    )
    list_filter = (CaseStatusFilter, "stage", CaseAgeFilter, CasePlanFilter, CaseDueFilter, "hard_decline")
    list_select_related = ("account",)

    def get_urls(self):
        # Recovery analytics (billing/admin_analytics.py) lives under the cases it reads.
        view = self.admin_site.admin_view(recovery_analytics_view)
        return [path("recovery-analytics/", view, name="billing_recovery_analytics"), *super().get_urls()]

    search_fields = (
        "account__name",
        "stripe_customer_id",
        "stripe_subscription_id",
        "stripe_invoice_id",
        "account__users__email",
    )
    # No date_hierarchy: on 100k cases its SELECT DISTINCT reads every row
    # on each page view; CaseAgeFilter slices by age instead.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ("next_action_at", "-opened_at")
    actions = ("action_mark_recovered", "action_resend", "action_pause", "action_unpause")
    readonly_fields = [*model_fields(DunningCase), "emails", "timeline"]
    fieldsets = (
        (
            None,
            {"fields": ("account", "status", "stage", "opened_at", "next_action_at", "closed_at", "updated_at")},
        ),
        (
            "Stripe",
            {
                "fields": (
                    "stripe_customer_id",
                    "stripe_subscription_id",
                    "stripe_invoice_id",
                    "amount_due",
                    "currency",
                    "attempt_count",
                    "next_payment_attempt",
                    "hosted_invoice_url",
                    "failure_code",
                    "decline_code",
                    "failure_reason",
                    "hard_decline",
                    "last_event_at",
                )
            },
        ),
        ("Timeline", {"fields": ("emails", "timeline")}),
    )

    @admin.display(description="plan", ordering="account__plan")
    def plan(self, case):
        return case.account.get_plan_display() if case.account else "—"

    @admin.display(description="amount due")
    def amount_display(self, case):
        return case.amount_display

    @admin.display(description="emails")
    def emails(self, case):
        """The case's emails in the outbox, where staff retry, resend or close them."""
        about_type, about_id = outbox.about_key(case)
        query = urlencode({"about_type": about_type, "about_id": about_id, "state": "all"})
        count = emails_about(case).count()
        return format_html(
            '<a href="{}?{}">{} email(s) in the outbox</a>',
            reverse("admin:compliance_outboundemail_changelist"),
            query,
            count,
        )

    @admin.display(description="timeline")
    def timeline(self, case):
        html = render_to_string("billing/admin_timeline.html", {"entries": selectors.case_timeline(case=case)})
        return mark_safe(html)  # noqa: S308 - rendered by an autoescaping template

    def _run(self, request, queryset, service, done: str):
        count = sum(1 for case in queryset.select_related("account") if service(case=case, actor=request.user))
        self.message_user(request, f"{count} case(s) {done}.", messages.SUCCESS if count else messages.WARNING)

    @admin.action(description="Mark recovered (un-pause, send “payment received”)")
    def action_mark_recovered(self, request, queryset):
        self._run(request, queryset, services.case_mark_recovered, "marked recovered")

    @admin.action(description="Resend the current stage's email")
    def action_resend(self, request, queryset):
        self._run(request, queryset, services.case_resend_current, "had their email sent again (or retried)")

    @admin.action(description="Pause the account…")
    def action_pause(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset.select_related("account"),
            title="Pause the accounts",
            consequence="Each account becomes read-only: its workflows stop taking new runs (API and site) and "
            "every signed-in page says the account is paused for failed payments, until payment or un-pausing.",
            button="Pause the accounts",
            describe=lambda case: f"Case #{case.pk}: {case.account or case.stripe_customer_id}",
            apply=lambda case, data: services.case_pause_account(case=case, actor=request.user),
        )

    @admin.action(description="Un-pause the account")
    def action_unpause(self, request, queryset):
        self._run(request, queryset, services.case_unpause_account, "un-paused")


class EventStatusFilter(SubsetFilter):
    title = "status"
    parameter_name = "status"
    options = [*StripeEvent.Status.choices, ("stuck", "Not processed within 15 minutes")]
    field = "status"

    def subset(self, request, queryset, value):
        if value == "stuck":
            return queryset & selectors.events_stuck(now=timezone.now())
        return super().subset(request, queryset, value)


class LinkCustomerForm(forms.Form):
    customer = forms.CharField(label="Stripe customer id", max_length=255)
    account = forms.ModelChoiceField(queryset=Account.objects.order_by("name"), label="Levqor account")

    def clean_customer(self):
        value = self.cleaned_data["customer"].strip()
        if not value.startswith("cus_"):
            raise forms.ValidationError("A Stripe customer id starts with cus_.")
        return value


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    """Read-only: every Stripe event and how processing went."""

    list_display = (
        "stripe_id",
        "type",
        "status",
        "outcome",
        "customer_id",
        "attempts",
        "deliveries",
        "received_at",
        "error",
    )  # Stripe's own creation time is on the event's page: the list must fit a 1400 px screen.
    list_filter = (EventStatusFilter, "type")
    search_fields = ("stripe_id", "customer_id", "subscription_id", "object_id")
    date_hierarchy = "received_at"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    actions = ("action_reprocess", "action_link_customer")
    readonly_fields = model_fields(StripeEvent)

    @admin.display(description="error")
    def error(self, event):
        return event.last_error[:80]

    @admin.display(description="outcome")
    def outcome(self, event):
        return event.note[:120]

    def get_urls(self):
        view = self.admin_site.admin_view(self.link_customer_view)
        return [path("link-customer/", view, name="billing_stripeevent_link_customer"), *super().get_urls()]

    def link_customer_view(self, request):
        """Link a Stripe customer to an account; its unmatched events are then applied."""
        if not self.has_view_permission(request) or not request.user.has_perm("accounts.change_account"):
            raise PermissionDenied
        form = LinkCustomerForm(request.POST or None, initial={"customer": request.GET.get("customer", "")})
        if request.method == "POST" and form.is_valid():
            customer = form.cleaned_data["customer"]
            try:
                waiting = linking.customer_link(
                    customer_id=customer, account=form.cleaned_data["account"], actor=request.user
                )
            except linking.LinkError as exc:
                form.add_error(None, str(exc))
            else:
                left = StripeEvent.objects.filter(customer_id=customer, status=StripeEvent.Status.UNMATCHED).count()
                self.message_user(
                    request,
                    f"Linked {customer} to {form.cleaned_data['account']}: {waiting} unmatched event(s) "
                    f"applied or queued, {left} still unmatched.",
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:billing_stripeevent_changelist") + f"?q={customer}")
        context = {
            **self.admin_site.each_context(request),
            "title": "Link a Stripe customer to an account",
            "form": form,
            "opts": self.model._meta,
            "waiting": StripeEvent.objects.filter(
                customer_id=form["customer"].value() or "", status=StripeEvent.Status.UNMATCHED
            ).order_by("stripe_created"),
        }
        return TemplateResponse(request, "billing/admin_link_customer.html", context)

    @admin.action(description="Link the event's Stripe customer to an account…")
    def action_link_customer(self, request, queryset):
        customers = set(queryset.exclude(customer_id="").values_list("customer_id", flat=True))
        if len(customers) != 1:
            self.message_user(request, "Select events of exactly one Stripe customer.", messages.WARNING)
            return None
        url = reverse("admin:billing_stripeevent_link_customer")
        return redirect(f"{url}?{urlencode({'customer': customers.pop()})}")

    @admin.action(description="Reprocess now")
    def action_reprocess(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        if len(ids) > INLINE_REPROCESS:
            # Each event calls the Stripe API: many go to the task queue.

            async_task(intake.events_reprocess, event_pks=ids)
            self.message_user(request, f"{len(ids)} event(s) queued for reprocessing.", messages.SUCCESS)
            return
        results = [intake.event_reprocess(event_pk=pk) for pk in ids]
        ok = results.count(StripeEvent.Status.PROCESSED)
        self.message_user(
            request,
            f"{ok} event(s) processed, {results.count(StripeEvent.Status.FAILED)} failed, "
            f"{results.count(StripeEvent.Status.UNMATCHED)} still unmatched, "
            f"{results.count('skipped')} skipped (already processed or in progress).",
            messages.SUCCESS if ok else messages.WARNING,
        )
