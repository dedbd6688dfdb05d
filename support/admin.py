"""Support admin: the SLA credit and dispute queues. Both default to "needs
attention", show the record's full timeline, and write only through
services (decisions, replies, status changes are audited and emailed)."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Min, Q
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from levqor.accounts.links import account_column
from levqor.lib.admin import (
    DefaultStatusFilter,
    KeepRecordsMixin,
    SubsetFilter,
    confirm_action,
    fieldset_fields,
)

from . import (
    admin_dfy,  # noqa: F401 - registers the DFY orders admin
    admin_tickets,  # noqa: F401 - registers the ticket desk admin
    attachments,
    selectors,
    services,
)
from .clock import clock_text, first_response_due
from .models import Dispute, DisputeMessage, EvidenceFile, SlaCreditMessage, SlaCreditRequest


class NeedsAttentionFilter(DefaultStatusFilter):
    """A status filter whose default is the open statuses that need staff."""

    default = "attention"
    attention: tuple[str, ...] = ()

    def subset(self, request, queryset, value):
        if value == "attention":
            return queryset.filter(status__in=self.attention)
        return super().subset(request, queryset, value)


class SlaStatusFilter(NeedsAttentionFilter):
    """Needs attention: awaiting a decision, or approved with a credit that failed in Stripe."""

    attention = (SlaCreditRequest.Status.PENDING,)
    options = [("attention", "Needs attention"), *SlaCreditRequest.Status.choices]

    def subset(self, request, queryset, value):
        if value == "attention":
            return queryset.filter(Q(status__in=self.attention) | Q(pk__in=selectors.sla_credits_failed().values("pk")))
        return super().subset(request, queryset, value)


class DisputeStatusFilter(NeedsAttentionFilter):
    attention = Dispute.OPEN
    options = [("attention", "Needs attention"), *Dispute.Status.choices]


class EvidenceDueFilter(SubsetFilter):
    title = "chargeback evidence"
    parameter_name = "evidence"
    options = [("due3", "Due within 3 days")]

    def subset(self, request, queryset, value):
        if value == "due3":
            return queryset.filter(pk__in=selectors.chargebacks_evidence_due().values("pk"))
        return queryset


class CreditStateFilter(SubsetFilter):
    title = "Stripe credit"
    parameter_name = "credit"

    def lookups(self, request, model_admin):
        return [
            ("failed", "Failed in Stripe (awaiting retry or exhausted)"),
            *((state.value, state.label) for state in SlaCreditRequest.CreditState if state.value),
        ]

    def subset(self, request, queryset, value):
        if value == "failed":
            return queryset.filter(pk__in=selectors.sla_credits_failed().values("pk"))
        if value in SlaCreditRequest.CreditState.values:
            return queryset.filter(credit_state=value)
        return queryset


def _timeline(entries) -> str:
    return mark_safe(render_to_string("support/admin_timeline.html", {"entries": entries}))  # noqa: S308 - escaped template


class SlaDecisionForm(forms.ModelForm):
    """The decision: status, credit (in pounds), currency, notes. Validated by
    the service's own check, saved by the service."""

    status = forms.ChoiceField(choices=[("", "— decide —"), *((s.value, s.label) for s in services.DECISION_STATUSES)])
    credit_amount = forms.DecimalField(
        label="Credit amount", min_value=Decimal("0"), decimal_places=2, required=False, help_text="e.g. 7.25"
    )
    credit_currency = forms.ChoiceField(
        choices=[(c, c) for c in services.CREDIT_CURRENCIES],
        initial=services.CREDIT_CURRENCIES[0],
        error_messages={"invalid_choice": services.CREDIT_CURRENCY_ERROR},
        help_text="GBP only: Levqor bills in GBP.",
    )

    class Meta:
        model = SlaCreditRequest
        fields = ("status", "credit_currency", "notes_to_customer", "internal_notes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.pk:
            amount = instance.credit_amount_minor or (
                instance.suggested_credit_minor if instance.status != "approved" else 0
            )
            self.initial["credit_amount"] = Decimal(amount) / 100
            if instance.status == SlaCreditRequest.Status.PENDING:
                self.initial["status"] = ""  # staff choose; the amount is prefilled with the suggestion

    def clean(self):
        data = super().clean()
        try:
            minor = int((data.get("credit_amount") or Decimal("0")) * 100)
        except (InvalidOperation, TypeError):
            minor = 0
        data["credit_amount_minor"] = minor if data.get("status") == "approved" else 0
        if self.errors:
            return data
        original = SlaCreditRequest.objects.get(pk=self.instance.pk)
        try:
            services.sla_decision_check(
                request=original,
                status=data["status"],
                credit_amount_minor=data["credit_amount_minor"],
                credit_currency=data["credit_currency"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error("credit_amount" if field == "credit_amount_minor" else field, errors)
        return data


@admin.register(SlaCreditRequest)
class SlaCreditRequestAdmin(KeepRecordsMixin, admin.ModelAdmin):
    form = SlaDecisionForm
    list_display = (
        "id",
        account_column,
        "period_display",
        "impact",
        "status",
        "measured_display",
        "suggested_display",
        "credit_display",
        "credit_state_display",
        # The Stripe credit id is on each request's page (and searchable):
        # the list keeps to 1400 px with the first-response clock.
        "created_at",
        "first_response",
    )
    list_filter = (SlaStatusFilter, CreditStateFilter, "impact", "period_kind", "account__plan")
    list_select_related = ("account", "user")
    search_fields = ("account__name", "user__email", "description", "stripe_credit_id", "=id")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ("remeasure", "retry_credit", "cancel_credit")
    fieldsets = (
        (
            "Claimed by the customer",
            {
                "fields": (
                    "account",
                    "user",
                    "plan",
                    "period_display",
                    "impact",
                    "description",
                    "attachment_link",
                    "created_at",
                    "first_response",
                )
            },
        ),
        (
            "Measured by us (status rollups and incidents, maintenance excluded)",
            {
                "fields": (
                    "measured_display",
                    "downtime_display",
                    "measurement_display",
                    "fee_display",
                    "suggested_display",
                )
            },
        ),
        ("Decision", {"fields": ("status", "credit_amount", "credit_currency", "notes_to_customer", "internal_notes")}),
        (
            "Stripe credit",
            {
                "fields": (
                    "credit_state_display",
                    "stripe_credit_id",
                    "credit_applied_at",
                    "credit_error",
                    "credit_attempts",
                    "credit_failed_at",
                    "credit_next_attempt_at",
                    "credit_canceled_at",
                    "decided_by",
                    "decided_at",
                )
            },
        ),
        ("Timeline", {"fields": ("timeline",)}),
    )
    readonly_fields = fieldset_fields(
        fieldsets, editable=("status", "credit_amount", "credit_currency", "notes_to_customer", "internal_notes")
    )

    def get_queryset(self, request):
        staff_message = Min("messages__created_at", filter=Q(messages__kind=SlaCreditMessage.Kind.STAFF))
        return super().get_queryset(request).annotate(first_staff_message_at=staff_message)

    @admin.display(description="first response")
    def first_response(self, obj):
        """The plan's first-response clock: a decision or a note to the customer answers."""
        answers = [t for t in (obj.decided_at, getattr(obj, "first_staff_message_at", None)) if t is not None]
        return clock_text(
            due=first_response_due(plan=obj.account.plan, opened_at=obj.created_at),
            answered_at=min(answers) if answers else None,
            now=timezone.now(),
            waiting=obj.is_open,
        )

    @admin.display(description="period")
    def period_display(self, obj):
        return f"{obj.period_label} ({obj.period_start} – {obj.period_end})"

    @admin.display(description="measured uptime", ordering="measured_uptime_percent")
    def measured_display(self, obj):
        return "—" if obj.measured_uptime_percent is None else f"{obj.measured_uptime_percent:.3f}%"

    @admin.display(description="measured downtime")
    def downtime_display(self, obj):
        minutes = (obj.measured_downtime_seconds or 0) // 60
        maintenance = (obj.measured_maintenance_seconds or 0) // 60
        observed = (obj.measured_observed_seconds or 0) // 3600
        return f"{minutes} min down; {maintenance} min maintenance excluded; {observed} h observed by probes"

    @admin.display(description="measurement detail")
    def measurement_display(self, obj):
        data = obj.measurement or {}
        incidents = ", ".join(i.get("name", "") for i in data.get("incidents", [])) or "none"
        return (
            f"components {', '.join(data.get('components', []))}; probe downtime "
            f"{data.get('probe_downtime_seconds', 0) // 60} min; declared incident downtime "
            f"{data.get('incident_downtime_seconds', 0) // 60} min; incidents: {incidents}; "
            f"from {data.get('resolution', '?')} rollups"
        )

    @admin.display(description="month's fee")
    def fee_display(self, obj):
        return SlaCreditRequest.money(obj.monthly_fee_minor, obj.currency)

    @admin.display(description="suggested credit")
    def suggested_display(self, obj):
        return obj.suggested_display

    @admin.display(description="credit")
    def credit_display(self, obj):
        return obj.credit_display if obj.credit_amount_minor else ""

    @admin.display(description="Stripe credit", ordering="credit_state")
    def credit_state_display(self, obj):
        if not obj.credit_state:
            return "—"
        label = obj.get_credit_state_display()
        if obj.credit_state in SlaCreditRequest.CREDIT_FAILED and obj.credit_error:
            label = f"{label} after {obj.credit_attempts} attempt(s): {obj.credit_error}"
        return label

    @admin.display(description="attachment")
    def attachment_link(self, obj):
        if not obj.attachment:
            return "—"
        url = reverse("support:sla_credit_attachment", args=[obj.pk])
        return format_html('<a href="{}">{}</a> ({} bytes)', url, obj.attachment_name, obj.attachment_size)

    @admin.display(description="timeline")
    def timeline(self, obj):
        return _timeline(selectors.sla_request_timeline(request=obj))

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        original = SlaCreditRequest.objects.get(pk=obj.pk)
        changed = services.sla_request_decide(
            request=original,
            status=data["status"],
            credit_amount_minor=data["credit_amount_minor"],
            credit_currency=data["credit_currency"],
            notes_to_customer=data.get("notes_to_customer", ""),
            internal_notes=data.get("internal_notes", ""),
            actor=request.user,
        )
        if not changed:
            messages.info(request, "Nothing changed: no email sent, no new credit.")

    @admin.action(description="Measure the downtime again")
    def remeasure(self, request, queryset):
        for item in queryset:
            services.sla_request_remeasure(request=item, actor=request.user)
        self.message_user(request, f"Measured {queryset.count()} request(s) again.")

    @admin.action(description="Retry credit now")
    def retry_credit(self, request, queryset):
        applied = failed = skipped = 0
        for item in queryset:
            if item.credit_state not in (*SlaCreditRequest.CREDIT_DUE, SlaCreditRequest.CreditState.FAILED):
                skipped += 1
            elif services.sla_credit_retry_now(request=item, actor=request.user):
                applied += 1
            else:
                failed += 1
        parts = [f"{applied} credit(s) applied in Stripe."]
        if failed:
            parts.append(f"{failed} failed again or are being applied by a worker: see each request's Stripe credit.")
        if skipped:
            parts.append(f"{skipped} skipped: no credit owed (none, applied or canceled).")
        self.message_user(request, " ".join(parts), messages.WARNING if failed or skipped else messages.SUCCESS)

    @admin.action(description="Cancel credit…")
    def cancel_credit(self, request, queryset):
        def cancel(item, data) -> bool:
            services.sla_credit_cancel(request=item, actor=request.user)
            return True

        return confirm_action(
            self,
            request,
            queryset,
            title="Cancel SLA credits",
            consequence="These approved credits will not be applied in Stripe; the decision stays approved.",
            button="Cancel the credits",
            irreversible=True,
            describe=lambda item: f"#{item.pk}: {item.account}, {item.period_label}, {item.credit_display}",
            apply=cancel,
        )


class DisputeAdminForm(forms.ModelForm):
    reply = forms.CharField(
        label="Reply to the customer",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Emailed; shown on their page.",
    )
    internal_note = forms.CharField(
        label="Internal note", required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Staff only."
    )

    submit_evidence = forms.BooleanField(
        label="Submit the evidence to Stripe now",
        required=False,
        help_text="Sent to the bank through Stripe; only before the evidence due date, and usually only once.",
    )

    class Meta:
        model = Dispute
        fields = ("status", "resolution_notes")

    evidence_files_remove = forms.MultipleChoiceField(
        label="Remove attached files",
        required=False,
        choices=EvidenceFile.Field.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Before submission only.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in services.EVIDENCE_FIELDS:
            self.initial.setdefault(f"evidence_{name}", (self.instance.evidence or {}).get(name, ""))
        attached = {f.field: f for f in self.instance.evidence_files.all()} if self.instance.pk else {}
        for field in EvidenceFile.Field.values:
            current = attached.get(field)
            if current is not None:
                at_stripe = f", at Stripe as {current.stripe_file_id}" if current.stripe_file_id else ""
                self.fields[
                    f"evidence_file_{field}"
                ].help_text = (
                    f"Attached: {current.original_name} ({current.size:,} bytes{at_stripe}). A new file replaces it."
                )
        self.fields["evidence_files_remove"].choices = [
            (field, label) for field, label in EvidenceFile.Field.choices if field in attached
        ]

    def evidence(self) -> dict:
        return {name: self.cleaned_data.get(f"evidence_{name}", "") for name in services.EVIDENCE_FIELDS}

    def evidence_uploads(self) -> dict:
        """Evidence field → the file uploaded for it in this form."""
        return {
            field: self.cleaned_data[f"evidence_file_{field}"]
            for field in EvidenceFile.Field.values
            if self.cleaned_data.get(f"evidence_file_{field}")
        }

    def clean(self):
        """A file Stripe would refuse is a form error beside its field: PDF,
        JPEG or PNG only, at most 5 MB, and 4.5 MB for the dispute's files together."""
        cleaned = super().clean()
        if not self.instance.pk:
            return cleaned
        removed = set(cleaned.get("evidence_files_remove") or [])
        uploads = self.evidence_uploads()
        kept = self.instance.evidence_files.exclude(field__in=removed | set(uploads))
        total = sum(kept.values_list("size", flat=True))
        for field, upload in uploads.items():
            try:
                attachments.evidence_file_check(upload, others_bytes=total)
            except ValidationError as exc:
                self.add_error(f"evidence_file_{field}", exc.message_dict["file"])
            else:
                total += upload.size
        return cleaned


# Stripe's evidence fields as form fields, declared on the class so the admin knows them.
DisputeAdminForm = type(
    "DisputeAdminForm",
    (DisputeAdminForm,),
    {
        **{
            f"evidence_{name}": forms.CharField(label=label, required=False, widget=forms.Textarea(attrs={"rows": 2}))
            for name, label in services.EVIDENCE_FIELDS.items()
        },
        # Stripe's file evidence fields: uploaded to Stripe's Files API when the evidence is submitted.
        **{
            f"evidence_file_{field}": forms.FileField(
                label=f"File: {label}", required=False, help_text="PDF, JPEG or PNG, at most 5 MB."
            )
            for field, label in EvidenceFile.Field.choices
        },
    },
)


@admin.register(Dispute)
class DisputeAdmin(KeepRecordsMixin, admin.ModelAdmin):
    form = DisputeAdminForm
    list_display = (
        "id",
        "source",
        account_column,
        "category",
        "subject",
        "status",
        "amount_display",
        "stripe_status",
        "evidence_due_by",
        "updated_at",
        "first_response",
    )
    list_filter = (DisputeStatusFilter, "source", EvidenceDueFilter, "category", "stripe_status")
    list_select_related = ("account", "user")
    search_fields = (
        "subject",
        "description",
        "account__name",
        "user__email",
        "stripe_dispute_id",
        "stripe_charge_id",
        "=id",
    )
    date_hierarchy = "created_at"
    show_full_result_count = False
    fieldsets = (
        (
            "Dispute",
            {
                "fields": (
                    "source",
                    "account",
                    "user",
                    "category",
                    "subject",
                    "description",
                    "created_at",
                    "first_response",
                )
            },
        ),
        (
            "Stripe chargeback",
            {
                "fields": (
                    "stripe_dispute_id",
                    "stripe_charge_id",
                    "amount_display",
                    "reason",
                    "stripe_status",
                    "evidence_due_by",
                    "evidence_submission_count",
                )
            },
        ),
        ("Work it", {"fields": ("status", "resolution_notes", "reply", "internal_note")}),
        ("Timeline", {"fields": ("timeline",)}),
    )
    readonly_fields = fieldset_fields(fieldsets, editable=("status", "resolution_notes", "reply", "internal_note"))
    readonly_fields = (*readonly_fields, "evidence_submitted_at")

    def get_fieldsets(self, request, obj=None):
        if obj is None or not obj.is_chargeback:
            return self.fieldsets
        evidence = tuple(f"evidence_{name}" for name in services.EVIDENCE_FIELDS)
        files = (*(f"evidence_file_{field}" for field in EvidenceFile.Field.values), "evidence_files_remove")
        submitted = ("evidence_submitted_at", "submit_evidence")
        return (
            *self.fieldsets[:2],
            ("Evidence for the bank (Stripe)", {"fields": (*evidence, *files, *submitted)}),
            *self.fieldsets[2:],
        )

    def get_queryset(self, request):
        reply = Min("messages__created_at", filter=Q(messages__kind=DisputeMessage.Kind.REPLY))
        return super().get_queryset(request).annotate(first_reply_at=reply)

    def get_urls(self):
        outcomes = path("outcomes/", self.admin_site.admin_view(self.outcomes_view), name="support_dispute_outcomes")
        return [outcomes, *super().get_urls()]

    def outcomes_view(self, request):
        """Chargebacks won and lost per month."""
        context = {
            **self.admin_site.each_context(request),
            "title": "Chargebacks won and lost, per month",
            "rows": selectors.chargeback_outcomes_by_month(),
            "opts": self.model._meta,
        }
        return render(request, "admin/support/dispute/outcomes.html", context)

    @admin.display(description="first response")
    def first_response(self, obj):
        """The plan's first-response clock for a customer's dispute: a reply or a resolution answers.
        Chargebacks run on Stripe's evidence date instead."""
        if obj.is_chargeback or obj.account is None:
            return "—"
        answers = [t for t in (getattr(obj, "first_reply_at", None), obj.resolved_at) if t is not None]
        return clock_text(
            due=first_response_due(plan=obj.account.plan, opened_at=obj.created_at),
            answered_at=min(answers) if answers else None,
            now=timezone.now(),
            waiting=obj.status in Dispute.OPEN,
        )

    @admin.display(description="amount")
    def amount_display(self, obj):
        return obj.amount_display

    @admin.display(description="timeline")
    def timeline(self, obj):
        return _timeline(selectors.dispute_timeline(dispute=obj))

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        changed = services.dispute_update(
            dispute=Dispute.objects.get(pk=obj.pk),
            status=data["status"],
            resolution_notes=data.get("resolution_notes", ""),
            reply=data.get("reply", ""),
            internal_note=data.get("internal_note", ""),
            actor=request.user,
        )
        if obj.is_chargeback:
            self._evidence(request, obj, form)
        elif not changed:
            messages.info(request, "Nothing changed.")

    def _evidence(self, request, obj, form):
        try:
            services.chargeback_evidence_save(dispute=obj, evidence=form.evidence(), actor=request.user)
            for field in form.cleaned_data.get("evidence_files_remove") or []:
                services.chargeback_evidence_file_remove(dispute=obj, field=field, actor=request.user)
            for field, upload in form.evidence_uploads().items():
                services.chargeback_evidence_file_attach(dispute=obj, field=field, upload=upload, actor=request.user)
            if form.cleaned_data.get("submit_evidence"):
                services.chargeback_evidence_submit(dispute=obj, actor=request.user)
                messages.success(request, "Evidence submitted to Stripe.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
