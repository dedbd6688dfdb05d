"""Billing admin: the dunning queue, each case's timeline and staff actions
(all through services), and the read-only Stripe event log with "reprocess"."""

from datetime import timedelta

from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from levqor.plans import PLAN_CHOICES

from . import intake, selectors, services
from .models import DunningCase, EmailLog, StripeEvent

INLINE_REPROCESS = 10  # more than this are reprocessed by the task queue


class CaseStatusFilter(admin.SimpleListFilter):
    """Defaults to "pending": the cases someone may need to act on."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*DunningCase.Status.choices, ("all", "All")]

    def choices(self, changelist):
        value = self.value() or DunningCase.Status.PENDING
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or DunningCase.Status.PENDING
        if value == "all":
            return queryset
        return queryset.filter(status=value)


class CaseAgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [("lt7", "Under 7 days"), ("7to14", "7–13 days"), ("gte14", "14 days or more")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "lt7":
            return queryset.filter(opened_at__gt=now - timedelta(days=7))
        if self.value() == "7to14":
            return queryset.filter(opened_at__lte=now - timedelta(days=7), opened_at__gt=now - timedelta(days=14))
        if self.value() == "gte14":
            return queryset.filter(opened_at__lte=now - timedelta(days=14))
        return queryset


class CaseDueFilter(admin.SimpleListFilter):
    title = "next step due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("today", "Due by end of today")]

    def queryset(self, request, queryset):
        if self.value() == "today":
            end = timezone.localtime().replace(hour=23, minute=59, second=59, microsecond=999999)
            return queryset.filter(next_action_at__lte=end)
        return queryset


class CasePlanFilter(admin.SimpleListFilter):
    title = "plan"
    parameter_name = "plan"

    def lookups(self, request, model_admin):
        return PLAN_CHOICES

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(account__plan=self.value())
        return queryset


class EmailLogInline(admin.TabularInline):
    model = EmailLog
    extra = 0
    can_delete = False
    fields = ("sent_at", "template", "to", "subject", "resend")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DunningCase)
class DunningCaseAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "account",
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
    search_fields = (
        "account__name",
        "stripe_customer_id",
        "stripe_subscription_id",
        "stripe_invoice_id",
        "account__users__email",
    )
    date_hierarchy = "opened_at"
    show_full_result_count = False
    ordering = ("next_action_at", "-opened_at")
    actions = ("action_mark_recovered", "action_resend", "action_pause", "action_unpause")
    inlines = (EmailLogInline,)
    readonly_fields = [f.name for f in DunningCase._meta.fields] + ["timeline"]
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
        ("Timeline", {"fields": ("timeline",)}),
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="plan", ordering="account__plan")
    def plan(self, case):
        return case.account.get_plan_display() if case.account else "—"

    @admin.display(description="amount due")
    def amount_display(self, case):
        return case.amount_display

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
        self._run(request, queryset, services.case_resend_current, "queued for a resend")

    @admin.action(description="Pause the account")
    def action_pause(self, request, queryset):
        self._run(request, queryset, services.case_pause_account, "paused")

    @admin.action(description="Un-pause the account")
    def action_unpause(self, request, queryset):
        self._run(request, queryset, services.case_unpause_account, "un-paused")


class EventStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return StripeEvent.Status.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(status=self.value())
        return queryset


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    """Read-only: every Stripe event and how processing went."""

    list_display = ("stripe_id", "type", "status", "attempts", "deliveries", "stripe_created", "received_at", "error")
    list_filter = (EventStatusFilter, "type")
    search_fields = ("stripe_id", "customer_id", "subscription_id", "object_id")
    date_hierarchy = "received_at"
    show_full_result_count = False
    actions = ("action_reprocess",)
    readonly_fields = [f.name for f in StripeEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="error")
    def error(self, event):
        return event.last_error[:80]

    @admin.action(description="Reprocess now")
    def action_reprocess(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        if len(ids) > INLINE_REPROCESS:
            # Each event calls the Stripe API: many go to the task queue.
            from django_q.tasks import async_task

            async_task("billing.tasks.reprocess_stripe_events", ids)
            self.message_user(request, f"{len(ids)} event(s) queued for reprocessing.", messages.SUCCESS)
            return
        results = [intake.event_reprocess(event_pk=pk) for pk in ids]
        ok = results.count(StripeEvent.Status.PROCESSED)
        self.message_user(
            request,
            f"{ok} event(s) processed, {results.count(StripeEvent.Status.FAILED)} failed, "
            f"{results.count('skipped')} skipped (already processed or in progress).",
            messages.SUCCESS if ok else messages.WARNING,
        )
