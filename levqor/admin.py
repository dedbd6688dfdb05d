from django.contrib import admin, messages

from levqor.lib.admin import DefaultSubsetFilter, KeepRecordsMixin, model_fields

from . import email_failures
from .models import EmailFailure


class EmailFailureStatusFilter(DefaultSubsetFilter):
    """Open failures by default: the ones nobody has dealt with yet."""

    title = "status"
    parameter_name = "status"
    options = [("open", "Open"), ("resolved", "Resolved")]
    default = "open"

    def subset(self, request, queryset, value):
        if value == "open":
            return queryset.filter(resolved_at__isnull=True)
        if value == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(EmailFailure)
class EmailFailureAdmin(KeepRecordsMixin, admin.ModelAdmin):
    """Read-only log of emails the backend refused; staff mark them handled
    once the person has been reached another way (or the sender retried)."""

    list_display = ("failed_at", "template", "to", "purpose", "short_error", "resolved_at", "resolution")
    list_filter = (EmailFailureStatusFilter, "template", "purpose")
    search_fields = ("to", "template", "correlation_id", "error")
    date_hierarchy = "failed_at"
    readonly_fields = model_fields(EmailFailure)
    actions = ["mark_handled"]
    show_full_result_count = False

    @admin.display(description="error")
    def short_error(self, obj) -> str:
        return obj.error[:120]

    @admin.action(description="Mark handled (the person was reached another way)")
    def mark_handled(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = email_failures.email_failures_mark_handled(ids=ids, actor=request.user)
        self.message_user(request, f"{count} email failure(s) marked handled.", messages.SUCCESS)
