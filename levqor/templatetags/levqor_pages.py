"""Tags the error pages need without a request context: 500.html is rendered
with an empty context (no context processors), so what it shows must come
from here, and nothing here may fail."""

from django import template
from django.conf import settings
from django.templatetags.static import static

from levqor.lib import correlation

register = template.Library()


@register.simple_tag
def correlation_id() -> str:
    """The id of the request being answered (also in its X-Request-ID header)."""
    return correlation.get() or "-"


@register.simple_tag
def static_or_plain(path: str) -> str:
    """`{% static %}` that cannot raise: with the manifest storage a missing
    manifest entry is an error, and the 500 page must still render."""
    try:
        return static(path)
    except Exception:  # noqa: BLE001 - any storage failure: fall back to the plain URL
        return settings.STATIC_URL.rstrip("/") + "/" + path
