"""Ticket desk admin: the ticket queue (default: active tickets), the
first-response clock with time left, replies, internal notes and canned
replies, triage (status, priority, assignee), merging duplicates, and the
monthly first-response report per plan. Writes go through services."""

from datetime import UTC, date, datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.utils.safestring import mark_safe

from levqor.accounts.links import account_column
from levqor.accounts.models import User
from levqor.lib.admin import DefaultStatusFilter, KeepRecordsMixin, SubsetFilter, fieldset_fields

from . import selectors, services
from .clock import clock_text
from .models import CannedReply, Ticket


def time_left(ticket: Ticket, now: datetime) -> str:
    """The first-response clock as staff read it: "3 h 20 min left", "breached 2 h ago", "answered in time"."""
    return clock_text(
        due=ticket.first_response_due_at,
        answered_at=ticket.first_responded_at,
        now=now,
        waiting=ticket.merged_into_id is None and ticket.status in Ticket.ACTIVE,
    )


class TicketStatusFilter(DefaultStatusFilter):
    default = "active"
    options = [("active", "Active (open or waiting on customer)"), *Ticket.Status.choices]

    def subset(self, request, queryset, value):
        if value == "active":
            return queryset.filter(status__in=Ticket.ACTIVE)
        return super().subset(request, queryset, value)


class FirstResponseFilter(SubsetFilter):
    title = "first response"
    parameter_name = "sla"
    options = [
        ("due1h", "Due within 1 hour"),
        ("breached", "Breached, not answered"),
        ("waiting", "Not answered yet"),
        ("late", "Answered late"),
    ]

    def subset(self, request, queryset, value):
        if value == "due1h":
            return queryset.filter(pk__in=selectors.tickets_near_breach().values("pk"))
        if value == "breached":
            return queryset.filter(pk__in=selectors.tickets_breached().values("pk"))
        if value == "waiting":
            return queryset.filter(pk__in=selectors.tickets_awaiting_first_response().values("pk"))
        if value == "late":
            return queryset.filter(first_responded_at__gt=F("first_response_due_at"))
        return queryset


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name or obj.email


class TicketAdminForm(forms.ModelForm):
    assignee = StaffChoiceField(queryset=User.objects.filter(is_staff=True, is_active=True), required=False)
    canned = forms.ModelChoiceField(
        label="Canned reply",
        queryset=CannedReply.objects.filter(active=True),
        required=False,
        help_text="Sent as the reply when the reply box is empty; added below what you wrote otherwise.",
    )
    reply = forms.CharField(
        label="Reply to the customer",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Emailed and shown on their page. The first reply stops the first-response clock; "
        "the ticket then waits on the customer unless you choose another status.",
    )
    internal_note = forms.CharField(
        label="Internal note", required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Staff only."
    )
    merge_into = forms.IntegerField(
        label="Merge into ticket #", required=False, min_value=1, help_text="A duplicate of the same account."
    )

    class Meta:
        model = Ticket
        fields = ("status", "priority", "assignee")

    def clean(self):
        data = super().clean()
        reply = (data.get("reply") or "").strip()
        canned = data.get("canned")
        if canned is not None:
            reply = f"{reply}\n\n{canned.body}".strip()
        data["reply_text"] = reply
        into = data.get("merge_into")
        if into is not None:
            target = Ticket.objects.filter(pk=into).first()
            if target is None:
                self.add_error("merge_into", "No such ticket.")
            data["merge_target"] = target
        return data


@admin.register(Ticket)
class TicketAdmin(KeepRecordsMixin, admin.ModelAdmin):
    form = TicketAdminForm
    change_list_template = "admin/support/ticket/change_list.html"
    list_display = (
        "id",
        "subject",
        account_column,
        "plan",
        "status",
        "priority",
        "assignee",
        "opened_at",
        "first_response_due_at",
        "clock",
    )
    list_filter = (
        TicketStatusFilter,
        FirstResponseFilter,
        "priority",
        "plan",
        ("assignee", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("account", "assignee")
    search_fields = ("subject", "account__name", "user__email", "messages__body", "=id")
    date_hierarchy = "opened_at"
    show_full_result_count = False
    actions = ("assign_to_me", "mark_resolved", "merge_into_oldest")
    fieldsets = (
        (
            "Ticket",
            {"fields": ("subject", "account", "user", "opened_via", "merged_into", "opened_at")},
        ),
        (
            "First response (plan's hours, from levqor/plans.py)",
            {"fields": ("plan", "sla_hours", "first_response_due_at", "first_responded_at", "clock")},
        ),
        ("Work it", {"fields": ("status", "priority", "assignee", "canned", "reply", "internal_note", "merge_into")}),
        ("Thread and timeline", {"fields": ("timeline",)}),
    )
    editable = ("status", "priority", "assignee", "canned", "reply", "internal_note", "merge_into")
    readonly_fields = fieldset_fields(fieldsets, editable=editable)

    def get_queryset(self, request):
        return super().get_queryset(request).distinct() if request.GET.get("q") else super().get_queryset(request)

    @admin.display(description="time left")
    def clock(self, obj):
        return time_left(obj, timezone.now())

    @admin.display(description="timeline")
    def timeline(self, obj):
        entries = selectors.ticket_timeline(ticket=obj)
        return mark_safe(render_to_string("support/admin_timeline.html", {"entries": entries}))  # noqa: S308 - escaped template

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        ticket = Ticket.objects.get(pk=obj.pk)
        try:
            if data.get("internal_note", "").strip():
                services.ticket_note(ticket=ticket, body=data["internal_note"], actor=request.user)
            if data["reply_text"]:
                status = data["status"] if data["status"] != ticket.status else Ticket.Status.WAITING
                services.ticket_reply(ticket=ticket, body=data["reply_text"], status=status, actor=request.user)
                ticket.refresh_from_db()
            services.ticket_update(
                ticket=ticket,
                status=None if data["reply_text"] else data["status"],
                priority=data["priority"],
                assignee=data.get("assignee"),
                actor=request.user,
            )
            if data.get("merge_target") is not None:
                moved = services.ticket_merge(ticket=ticket, into=data["merge_target"], actor=request.user)
                messages.info(request, f"Merged into #{data['merge_target'].pk}: {moved} message(s) moved.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))

    @admin.action(description="Assign to me")
    def assign_to_me(self, request, queryset):
        for ticket in queryset:
            services.ticket_update(ticket=ticket, assignee=request.user, actor=request.user)
        self.message_user(request, f"{queryset.count()} ticket(s) assigned to you.")

    @admin.action(description="Mark resolved")
    def mark_resolved(self, request, queryset):
        for ticket in queryset:
            services.ticket_update(ticket=ticket, status=Ticket.Status.RESOLVED, actor=request.user)
        self.message_user(request, f"{queryset.count()} ticket(s) resolved.")

    @admin.action(description="Merge duplicates into the oldest selected")
    def merge_into_oldest(self, request, queryset):
        tickets = list(queryset.order_by("opened_at", "pk"))
        if len(tickets) < 2 or len({t.account_id for t in tickets}) != 1:
            self.message_user(request, "Select two or more tickets of one account.", messages.WARNING)
            return
        survivor, *duplicates = tickets
        for ticket in duplicates:
            services.ticket_merge(ticket=ticket, into=survivor, actor=request.user)
        self.message_user(request, f"{len(duplicates)} ticket(s) merged into #{survivor.pk}.")

    def get_urls(self):
        report = path("report/", self.admin_site.admin_view(self.report_view), name="support_ticket_report")
        return [report, *super().get_urls()]

    def report_view(self, request):
        """First response per plan for one month (?month=YYYY-MM, default this month)."""
        today = timezone.now().astimezone(UTC).date()
        month = today.replace(day=1)
        error = ""
        raw = request.GET.get("month", "")
        if raw:
            try:
                parsed = datetime.strptime(raw, "%Y-%m").date()
                month = date(parsed.year, parsed.month, 1)
            except ValueError:
                error = "Enter a month as YYYY-MM."
        context = {
            **self.admin_site.each_context(request),
            "title": f"First response by plan, {month:%B %Y}",
            "month": month,
            "error": error,
            "rows": selectors.ticket_sla_report(month=month),
            "opts": self.model._meta,
        }
        return render(request, "admin/support/ticket/report.html", context, status=400 if error else 200)


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ("title", "active")
    list_filter = ("active",)
    search_fields = ("title", "body")
