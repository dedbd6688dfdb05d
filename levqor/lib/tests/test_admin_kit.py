import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory

from levqor.lib.admin import DefaultSubsetFilter, ReadOnlyAdmin, SubsetFilter, fieldset_fields

pytestmark = pytest.mark.django_db


class NameFilter(DefaultSubsetFilter):
    title = "name"
    parameter_name = "name"
    options = [("open", "Open"), ("closed", "Closed")]
    default = "open"
    field = "name"


class LetterFilter(SubsetFilter):
    title = "letter"
    parameter_name = "letter"
    options = [("o", "Starts with o")]

    def subset(self, request, queryset, value):
        return queryset.filter(name__startswith=value)


class FakeChangeList:
    def get_query_string(self, new_params):
        return "?" + "&".join(f"{k}={v}" for k, v in new_params.items())


def _filter(cls, query: dict):
    request = RequestFactory().get("/", query)
    return cls(request, {k: [v] for k, v in query.items()}, Group, None), request


@pytest.fixture
def groups():
    return [Group.objects.create(name=name) for name in ("open", "closed")]


def test_it_shows_the_default_subset_without_a_parameter(groups):
    spec, request = _filter(NameFilter, {})
    assert [g.name for g in spec.queryset(request, Group.objects.all())] == ["open"]
    choices = list(spec.choices(FakeChangeList()))
    assert [(c["display"], c["selected"], c["query_string"]) for c in choices] == [
        ("Open", True, "?name=open"),
        ("Closed", False, "?name=closed"),
        ("All", False, "?name=all"),
    ]


def test_it_shows_every_row_under_all_and_one_subset_by_its_value(groups):
    spec, request = _filter(NameFilter, {"name": "all"})
    assert spec.queryset(request, Group.objects.all()).count() == 2
    assert [c["display"] for c in spec.choices(FakeChangeList()) if c["selected"]] == ["All"]
    spec, request = _filter(NameFilter, {"name": "closed"})
    assert [g.name for g in spec.queryset(request, Group.objects.all())] == ["closed"]


def test_a_subset_filter_without_a_value_filters_nothing(groups):
    spec, request = _filter(LetterFilter, {})
    assert spec.queryset(request, Group.objects.all()).count() == 2
    spec, request = _filter(LetterFilter, {"letter": "o"})
    assert [g.name for g in spec.queryset(request, Group.objects.all())] == ["open"]


def test_a_read_only_admin_lets_staff_view_but_not_write(staff):
    model_admin = ReadOnlyAdmin(Group, admin.site)
    request = RequestFactory().get("/")
    request.user = staff
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_fieldset_fields_leaves_out_the_editable_ones():
    fieldsets = ((None, {"fields": ("a", "b")}), ("More", {"fields": ("c",)}))
    assert fieldset_fields(fieldsets, editable=("b",)) == ("a", "c")
