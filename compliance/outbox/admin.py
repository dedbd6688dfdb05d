"""Staff's view of the outbox: every email sent or waiting, opening on the
ones that need a person (failed, or failing and being retried), with retry,
resend and "mark handled" actions that call the outbox's services."""

from django import forms
from django.contrib import admin, messages

from levqor.lib.admin import DefaultSubsetFilter, ReadOnlyAdmin, model_fields

from . import services
from .models import OutboundEmail, Suppression

Status = OutboundEmail.Status


class OutboxFilter(DefaultSubsetFilter):
    title = "state"
    parameter_name = "state"
    options = [
        ("attention", "Needs attention"),
        ("failed", "Failed"),
        ("retrying", "Retrying"),
        ("queued", "Queued"),
        ("sent", "Sent"),
        ("skipped", "Not sent: policy"),
        ("dropped", "Not sent: no longer true"),
        ("handled", "Failed, handled"),
    ]
    default = "attention"

    def subset(self, request, queryset, value):
        failed = queryset.filter(status=Status.FAILED, handled_note="")
        retrying = queryset.filter(status=Status.QUEUED, attempts__gt=0).exclude(last_error="")
        if value == "attention":
            return failed | retrying
        if value == "failed":
            return failed
        if value == "retrying":
            return retrying
        if value == "handled":
            return queryset.filter(status=Status.FAILED).exclude(handled_note="")
        return queryset.filter(status=value)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "stage", "about", "to", "status", "attempts", "sent_at", "short_error")
    list_filter = (OutboxFilter, "kind", "template")
    search_fields = ("to", "about_id", "kind", "template", "subject")
    date_hierarchy = "created_at"
    readonly_fields = model_fields(OutboundEmail)
    exclude = ("context",)  # may hold links meant for the recipient only
    actions = ["retry_now", "resend", "mark_handled"]
    show_full_result_count = False
    list_per_page = 50

    @admin.display(description="about")
    def about(self, obj) -> str:
        return obj.about_key

    @admin.display(description="error")
    def short_error(self, obj) -> str:
        return obj.last_error[:120]

    @admin.action(description="Retry now (skip the back-off)")
    def retry_now(self, request, queryset):
        done = sum(services.email_retry_now(email=email, actor=request.user) for email in queryset)
        self.message_user(request, f"{done} email(s) retried; see their state below.", messages.SUCCESS)

    @admin.action(description="Send again (the person says it never arrived)")
    def resend(self, request, queryset):
        chosen = list(queryset)
        sent = sum(services.email_resend(email=email, actor=request.user) for email in chosen)
        secret = sum(1 for email in chosen if email.sensitive)
        note = (
            f" {secret} held a one-time link that is not kept: ask the person to request a new one." if secret else ""
        )
        self.message_user(
            request, f"{sent} email(s) sent again.{note}", messages.SUCCESS if sent and not secret else messages.WARNING
        )

    @admin.action(description="Mark handled (the person was reached another way)")
    def mark_handled(self, request, queryset):
        count = services.emails_mark_handled(ids=list(queryset.values_list("pk", flat=True)), actor=request.user)
        self.message_user(request, f"{count} failed email(s) marked handled.", messages.SUCCESS)


class SuppressionForm(forms.ModelForm):
    address = forms.EmailField(help_text="Stored only as a SHA-256 hash.")

    class Meta:
        model = Suppression
        fields = ("reason", "note")


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    """Addresses the outbox sends nothing to. Staff add one by address (it is
    hashed) and remove one to allow email again; both are audited."""

    list_display = ("address_hash", "reason", "note", "created_at")
    list_filter = ("reason",)
    search_fields = ("note",)
    form = SuppressionForm
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def get_search_results(self, request, queryset, search_term):
        if "@" in search_term:  # find an address by its hash
            return queryset.filter(address_hash=services.address_hash(search_term)), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request, obj, form, change):
        created = services.address_suppress(
            address=form.cleaned_data["address"], reason=obj.reason, note=obj.note, actor=request.user
        )
        if not created:
            self.message_user(request, "That address was already suppressed.", messages.WARNING)

    def delete_model(self, request, obj):
        services.suppression_remove(suppression=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.suppression_remove(suppression=obj, actor=request.user)
