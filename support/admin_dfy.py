"""DFY orders admin: the delivery queue (default: under way), with the
contract's dates, and actions that call the services (each audited)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from compliance import audit
from levqor.accounts.links import account_column
from levqor.lib.admin import DefaultStatusFilter, KeepRecordsMixin, SubsetFilter, fieldset_fields

from . import selectors, services
from .models import DfyOrder


class DfyStatusFilter(DefaultStatusFilter):
    default = "active"
    options = [("active", "Under way or delivered"), *DfyOrder.Status.choices]

    def subset(self, request, queryset, value):
        if value == "active":
            return queryset.exclude(status=DfyOrder.Status.ACCEPTED)
        return super().subset(request, queryset, value)


class DfyDueFilter(SubsetFilter):
    title = "due date"
    parameter_name = "due"
    options = [("soon", "Due within 3 business days"), ("overdue", "Overdue")]

    def subset(self, request, queryset, value):
        if value == "soon":
            return queryset.filter(pk__in=selectors.dfy_orders_due_soon().values("pk"))
        if value == "overdue":
            return queryset.filter(pk__in=selectors.dfy_orders_overdue().values("pk"))
        return queryset


class DfyOrderForm(forms.ModelForm):
    extend_days = forms.IntegerField(
        label="Extend by (business days)", required=False, min_value=1, max_value=60, help_text="Clause 2.4."
    )
    extend_reason = forms.CharField(label="Why (the customer was late with …)", required=False)
    revision_workflow = forms.IntegerField(label="Start a revision round on workflow #", required=False, min_value=1)

    class Meta:
        model = DfyOrder
        fields = ()


@admin.register(DfyOrder)
class DfyOrderAdmin(KeepRecordsMixin, admin.ModelAdmin):
    form = DfyOrderForm
    list_display = ("id", account_column, "tier", "price", "status", "start_date", "due_date", "lateness", "created_at")
    list_filter = (DfyStatusFilter, DfyDueFilter, "tier")
    list_select_related = ("account",)
    search_fields = ("account__name", "=id", "=stripe_checkout_session_id", "=stripe_payment_intent_id")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ("mark_paid", "mark_brief", "mark_access", "deliver", "accept")
    fieldsets = (
        ("Order", {"fields": ("account", "tier", "price", "workflows", "status", "created_at")}),
        (
            "Stripe purchase",
            {
                "fields": (
                    "stripe_checkout_session_id",
                    "stripe_payment_intent_id",
                    "stripe_customer_id",
                    "amount_paid_minor",
                    "currency",
                )
            },
        ),
        (
            "Contract dates",
            {
                "fields": (
                    "paid_at",
                    "brief_approved_at",
                    "access_given_at",
                    "start_date",
                    "extension_days",
                    "due_date",
                    "lateness",
                    "delivered_at",
                    "acceptance_ends_on",
                    "revisions_used",
                    "accepted_at",
                    "accepted_how",
                )
            },
        ),
        ("Work it", {"fields": ("extend_days", "extend_reason", "revision_workflow")}),
        ("Timeline", {"fields": ("timeline",)}),
    )
    readonly_fields = fieldset_fields(fieldsets, editable=("extend_days", "extend_reason", "revision_workflow"))

    @admin.display(description="lateness")
    def lateness(self, obj):
        if obj.due_date is None or obj.status not in DfyOrder.IN_PROGRESS or obj.delivered_at is not None:
            return "—"
        if obj.due_date < timezone.localdate():
            return "LATE: the customer may cancel for a full refund (clause 2.5)"
        return "on time"

    @admin.display(description="timeline")
    def timeline(self, obj):
        entries = [
            {"at": e.occurred_at, "kind": "audit", "what": e.action, "who": e.actor_label, "detail": e.details}
            for e in audit.entries_for(obj)
        ]
        return mark_safe(render_to_string("support/admin_timeline.html", {"entries": entries}))  # noqa: S308 - escaped template

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        order = DfyOrder.objects.get(pk=obj.pk)
        try:
            if data.get("extend_days"):
                services.dfy_order_extend(
                    order=order, days=data["extend_days"], reason=data.get("extend_reason", ""), actor=request.user
                )
            if data.get("revision_workflow"):
                services.dfy_order_revision(order=order, workflow=data["revision_workflow"], actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))

    def _each(self, request, queryset, label, call):
        done = 0
        for order in queryset:
            try:
                done += bool(call(order))
            except ValidationError as exc:
                self.message_user(request, f"#{order.pk}: {' '.join(exc.messages)}", messages.WARNING)
        self.message_user(request, f"{done} order(s) {label}.")

    def _step(self, request, queryset, step: str, label: str):
        self._each(request, queryset, label, lambda o: services.dfy_order_step(order=o, step=step, actor=request.user))

    @admin.action(description="Record payment")
    def mark_paid(self, request, queryset):
        self._step(request, queryset, "paid", "marked paid")

    @admin.action(description="Record the approved brief")
    def mark_brief(self, request, queryset):
        self._step(request, queryset, "brief", "with the brief approved")

    @admin.action(description="Record the access given")
    def mark_access(self, request, queryset):
        self._step(request, queryset, "access", "with access given")

    @admin.action(description="Deliver (opens the ten-business-day acceptance window)")
    def deliver(self, request, queryset):
        self._each(request, queryset, "delivered", lambda o: services.dfy_order_deliver(order=o, actor=request.user))

    @admin.action(description="Accept (the customer confirmed or uses it live)")
    def accept(self, request, queryset):
        def call(order):
            return services.dfy_order_accept(order=order, how="confirmed", actor=request.user)

        self._each(request, queryset, "accepted", call)
