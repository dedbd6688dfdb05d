from django.core.paginator import InvalidPage, Paginator
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


def _whole(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and len(raw) <= 12


class CountSavingPaginator(Paginator):
    """Page 1 is read without a COUNT first, and when it is not full its
    rows are the count: the usual list call costs one query, not two. A
    full first page counts only when the answer needs it (`count`)."""

    def page(self, number):
        if number != 1 or self.orphans:
            return super().page(number)
        rows = list(self.object_list[: self.per_page])
        if len(rows) < self.per_page:
            self.count = len(rows)  # sets the cached_property: no COUNT query
        return self._get_page(rows, 1, self)


class ApiPagination(PageNumberPagination):
    """`?page=N&page_size=M` (at most 200); `count`, `next`, `previous`, `results`.

    A page that is not a whole number from 1, or past the last page, and a
    page_size that is not a whole number from 1 to 200, are a 400
    `validation_error` naming the parameter (never DRF's 404 "Invalid page.").
    Page 1 of an empty list is an empty page."""

    django_paginator_class = CountSavingPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _whole(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({"page_size": [f"Use a whole number from 1 to {self.max_page_size}."]})
        return int(raw)

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and (not _whole(raw) or int(raw) < 1):
            raise ValidationError({"page": ["Use a whole number from 1."]})
        page_size = self.get_page_size(request)
        paginator = self.django_paginator_class(queryset, page_size)
        number = int(raw) if raw is not None else 1
        try:
            self.page = paginator.page(number)
        except InvalidPage:
            raise ValidationError(
                {"page": [f"Page {number} is past the end: there are {paginator.num_pages} page(s)."]}
            ) from None
        self.request = request
        return list(self.page)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = "A page number from 1 (to the last page; page 1 of an empty list is empty)."
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
                parameter["description"] = f"Results per page, 1 to {self.max_page_size} (default {self.page_size})."
        return parameters
