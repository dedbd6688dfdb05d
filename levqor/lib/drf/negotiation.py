"""Content negotiation for the whole API (REST_FRAMEWORK's
DEFAULT_CONTENT_NEGOTIATION_CLASS)."""

from rest_framework.exceptions import NotAcceptable, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation


class ApiContentNegotiation(DefaultContentNegotiation):
    """`?format=` picks a renderer only where an endpoint has more than one
    (the health check, the schema); there an unknown format is a 400 naming
    the choices, not DRF's bare 404. Endpoints that only answer JSON do not
    take the parameter and ignore it, as they ignore any other unknown query
    parameter.

    An Accept header that excludes every format the endpoint has gets its
    first format (JSON) rather than a 406: clients send all sorts of Accept
    headers, and a JSON answer is more use to them than an error."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type

    def filter_renderers(self, renderers, format):  # noqa: A002 - DRF's signature
        matching = [renderer for renderer in renderers if renderer.format == format]
        if matching:
            return matching
        if len(renderers) == 1:
            return renderers
        choices = ", ".join(renderer.format for renderer in renderers)
        raise ValidationError({"format": [f"Unknown format {format!r}: use one of {choices}."]})
