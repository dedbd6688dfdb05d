"""Response headers written the cheap way (hot paths: issue 18)."""

from django.http import HttpResponse
from django.http.response import ResponseHeaders


def header_entries(*pairs: tuple[str, str]) -> list[tuple[str, tuple[str, str]]]:
    """Constant headers as Django stores them in a response, checked and
    converted once per process (setting a header through the mapping
    re-checks its name and value every time)."""
    headers = ResponseHeaders({})
    for name, value in pairs:
        headers[name] = value
    return list(headers._store.items())


def headers_add(response, entries, *, replace: bool = False) -> None:
    """Put `header_entries(...)` on a response: where absent (setdefault),
    or over any value already there with `replace`."""
    store = response.headers._store
    for key, entry in entries:
        if replace or key not in store:
            store[key] = entry


class LeanResponse(HttpResponse):
    """An `HttpResponse` whose headers are read out for the server straight
    from the header store: Django's WSGI handler lists them through the
    case-insensitive mapping, three calls a header. The same (name, value)
    pairs in the same order, as the store keeps them."""

    def items(self):
        return self.headers._store.values()
