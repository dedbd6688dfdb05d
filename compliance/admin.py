from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is written by services, never by hand."""

    list_display = ("seq", "occurred_at", "actor_label", "action", "target", "correlation_id")
    list_filter = ("action",)
    search_fields = ("action", "actor_label", "target_id", "correlation_id")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    list_per_page = 100
    fields = (
        "seq",
        "occurred_at",
        "actor",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "details",
        "details_erased_at",
        "correlation_id",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
