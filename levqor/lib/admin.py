"""The admin kit: list filters that name subsets, and admins for records
staff may look at but not write by hand; actions that ask before they act.
Knows no model of ours."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _


class SubsetFilter(admin.SimpleListFilter):
    """A list filter whose choices each name a subset of the rows.

    Subclasses set `title`, `parameter_name` and `options` ((value, label)
    pairs), and return each value's rows from `subset()`; with a `field`,
    a value not handled there filters `field=value` (a status, say)."""

    options: list[tuple[str, str]] | tuple[tuple[str, str], ...] = ()
    field: str = ""

    def lookups(self, request, model_admin):
        return self.options

    def queryset(self, request, queryset):
        value = self.value()
        return self.subset(request, queryset, value) if value else queryset

    def subset(self, request, queryset: QuerySet, value: str) -> QuerySet:
        if self.field:
            return queryset.filter(**{self.field: value})
        return queryset


class DefaultSubsetFilter(SubsetFilter):
    """A `SubsetFilter` that, with no query parameter, shows the useful subset
    (`default`, e.g. "needs attention") and offers "All" last, so the queue
    opens on what needs work and every other view is one click away."""

    default: str = ""
    all_value = "all"

    def lookups(self, request, model_admin):
        return [*self.options, (self.all_value, "All")]

    def value(self):
        return super().value() or self.default

    def choices(self, changelist):
        # Django's own "All" link means "no parameter", which here is the
        # default subset: every link names its value, "All" included.
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value == self.all_value else self.subset(request, queryset, value)


class DefaultStatusFilter(DefaultSubsetFilter):
    """The common case: a "status" filter over the `status` field."""

    title = "status"
    parameter_name = "status"
    field = "status"


class KeepRecordsMixin:
    """Rows are created by services and kept as records: no add, no delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyMixin(KeepRecordsMixin):
    """Evidence and logs: staff with view permission see every row read-only,
    and run the actions the admin declares (which call services); nobody
    adds, changes or deletes a row by hand. Works on admins and inlines."""

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """A `ModelAdmin` that only shows rows (see `ReadOnlyMixin`)."""


def model_fields(model) -> list[str]:
    """Every concrete field's name, for showing a record's whole row read-only."""
    return [field.name for field in model._meta.fields]


def fieldset_fields(fieldsets, *, editable=()) -> tuple[str, ...]:
    """The fields named in `fieldsets` other than `editable`: the read-only
    rest of a form whose few editable fields go to a service."""
    return tuple(name for _, options in fieldsets for name in options["fields"] if name not in editable)


def confirm_action(
    modeladmin,
    request,
    queryset,
    *,
    title: str,
    consequence: str,
    button: str,
    apply: Callable[[Any, dict], bool],
    form_class: type[forms.Form] | None = None,
    irreversible: bool = False,
    describe: Callable[[Any], str] = str,
):
    """An admin action that first shows what it will do: the chosen rows, the
    consequence in words ("this cannot be undone" when it cannot), an
    optional form (a reason), and a button naming the act. On confirmation it
    calls `apply(obj, cleaned_data)` for each row and reports the count;
    `apply` raising ValidationError reports that row's error and goes on."""
    form = None
    if form_class is not None:
        form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and (form is None or form.is_valid()):
        data = form.cleaned_data if form is not None else {}
        done, errors = 0, []
        for obj in queryset:
            try:
                done += bool(apply(obj, data))
            except ValidationError as exc:
                errors.append(f"#{obj.pk}: {' '.join(exc.messages)}")
        modeladmin.message_user(request, f"{title}: {done} done.", messages.SUCCESS if done else messages.WARNING)
        for error in errors:
            modeladmin.message_user(request, error, messages.ERROR)
        return None
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "consequence": consequence,
        "irreversible": irreversible,
        "button": button,
        "form": form,
        "objects": [(obj, describe(obj)) for obj in queryset],
        "action": request.POST.get("action"),
        "opts": opts,
        "app_label": opts.app_label,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/levqor_confirm_action.html", context)


class QuickRowsMixin:
    """For changelists of big tables, whose 100 rows a page are rendered in
    Python: each row's action checkbox is written directly, the very HTML
    Django's `action_checkbox` renders through the form renderer's widget
    templates (two template renders a row: most of a long list's time)."""

    def action_checkbox(self, obj):
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            admin.helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )


class EstimatedCountPaginator(Paginator):
    """A changelist paginator for tables with millions of rows.

    An exact COUNT(*) of a whole big PostgreSQL table reads all of it (and
    the admin counts on every page view). Unfiltered, a table the planner
    estimates at `estimate_above` rows or more shows that estimate
    (`pg_class.reltuples`, kept by autovacuum) instead; a filtered or
    searched list, or a smaller table, is counted exactly. Pair it with
    `show_full_result_count = False`."""

    estimate_above = 100_000

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is not None and not query.where:
            connection = connections[self.object_list.db]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                        [connection.ops.quote_name(self.object_list.model._meta.db_table)],
                    )
                    row = cursor.fetchone()
                if row and row[0] >= self.estimate_above:
                    return int(row[0])
        return super().count


def distinct_values(queryset: QuerySet, field: str) -> list:
    """The distinct non-null values of an indexed column, sorted. On
    PostgreSQL a recursive query hops from one value to the next through
    the index (a "loose index scan"): milliseconds for a hundred values
    among millions of rows, where DISTINCT reads every row. The model's
    whole table, like Django's own `AllValuesFieldListFilter` choices."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return list(queryset.model._default_manager.order_by(field).values_list(field, flat=True).distinct())
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    column = connection.ops.quote_name(queryset.model._meta.get_field(field).column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE hop(value) AS ("  # noqa: S608 - names from the model, quoted
            f" (SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY {column} LIMIT 1)"
            f" UNION ALL SELECT (SELECT {column} FROM {table} WHERE {column} > hop.value ORDER BY {column} LIMIT 1)"
            f" FROM hop WHERE hop.value IS NOT NULL"
            f") SELECT value FROM hop WHERE value IS NOT NULL"
        )
        return [row[0] for row in cursor.fetchall()]


class IndexedValuesFilter(admin.SimpleListFilter):
    """A list filter offering each value of an indexed column, like
    `list_filter = ("field",)` but read with `distinct_values`, so it stays
    fast on tables of millions of rows. Subclasses set `title`, `field` and
    `parameter_name` (`<field>__exact` keeps Django's own links working)."""

    field = ""

    def lookups(self, request, model_admin):
        return [(value, value) for value in distinct_values(model_admin.get_queryset(request), self.field)]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset
