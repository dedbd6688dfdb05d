from django.contrib import admin

from levqor.lib.admin import ReadOnlyAdmin

from .models import AiCall


@admin.register(AiCall)
class AiCallAdmin(ReadOnlyAdmin):
    """Assistant calls: sizes, provider, timing and cost. The questions and
    answers themselves are never stored."""

    list_display = (
        "created_at",
        "kind",
        "outcome",
        "account",
        "key_prefix",
        "provider",
        "model",
        "latency_ms",
        "cost_usd",
    )
    list_filter = ("kind", "outcome", "provider", "sandbox")
    list_select_related = ("account",)
    search_fields = ("account__name", "key_prefix")
    date_hierarchy = "created_at"
    show_full_result_count = False
