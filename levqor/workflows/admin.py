from django.contrib import admin
from django.db.models import Count

from levqor.lib.admin import KeepRecordsMixin, SubsetFilter, model_fields

from .models import Run, RunLog, Workflow


class RunStatusFilter(SubsetFilter):
    title = "status"
    parameter_name = "status"
    options = [("failed_live", "Failed (live)"), *Run.Status.choices]
    field = "status"

    def subset(self, request, queryset, value):
        if value == "failed_live":
            return queryset.filter(status=Run.Status.FAILED, is_sandbox=False)
        return super().subset(request, queryset, value)


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "is_sandbox", "run_count", "created_at", "deleted_at")
    list_filter = ("is_sandbox", ("deleted_at", admin.EmptyFieldListFilter))
    list_select_related = ("account",)
    search_fields = ("name", "account__name", "id")
    date_hierarchy = "created_at"
    readonly_fields = ("id", "account", "is_sandbox", "created_at", "updated_at", "deleted_at")
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(run_count=Count("runs"))

    @admin.display(ordering="run_count", description="Runs")
    def run_count(self, obj):
        return obj.run_count


class RunLogInline(KeepRecordsMixin, admin.TabularInline):
    model = RunLog
    fields = ("seq", "at", "level", "step", "message")
    readonly_fields = fields
    extra = 0
    max_num = 0


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("id", "workflow", "account", "status", "is_sandbox", "cost", "created_at", "finished_at")
    list_filter = (RunStatusFilter, "is_sandbox")
    list_select_related = ("workflow", "account")
    search_fields = ("id", "workflow__name", "account__name")
    date_hierarchy = "created_at"
    readonly_fields = model_fields(Run)
    inlines = [RunLogInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # runs start through the API
