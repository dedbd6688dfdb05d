"""Shields-style flat SVG badges: `label | message`, the message coloured by
status. Plain strings, like `charts`; every value from data is escaped and
each half is as wide as its text (Verdana 11 px, shields' font: widths from
a table of the common characters, a wide default for the rest).

Colours (white text on each; the message's background):

| status | message | colour |
|---|---|---|
| operational | operational | `#2ea44f` green |
| degraded_performance | degraded performance | `#b08800` yellow (dark enough for white text) |
| partial_outage | partial outage | `#d15704` orange |
| major_outage | major outage | `#cb2431` red |
| under_maintenance | under maintenance | `#0366d6` blue |

The overall badge maps the page indicator (`status.state.page_indicator`)
onto the same five: none → operational, minor → degraded performance,
major → partial outage, critical → major outage, maintenance → under
maintenance.
"""

from html import escape

from django.utils.safestring import SafeString, mark_safe

from .models import ComponentStatus

LABEL_COLOUR = "#555"
COLOURS = {
    ComponentStatus.OPERATIONAL: "#2ea44f",
    ComponentStatus.DEGRADED_PERFORMANCE: "#b08800",
    ComponentStatus.PARTIAL_OUTAGE: "#d15704",
    ComponentStatus.MAJOR_OUTAGE: "#cb2431",
    ComponentStatus.UNDER_MAINTENANCE: "#0366d6",
}
INDICATOR_STATUS = {
    "none": ComponentStatus.OPERATIONAL,
    "minor": ComponentStatus.DEGRADED_PERFORMANCE,
    "major": ComponentStatus.PARTIAL_OUTAGE,
    "critical": ComponentStatus.MAJOR_OUTAGE,
    "maintenance": ComponentStatus.UNDER_MAINTENANCE,
}

# Advance widths of Verdana at 11 px (as shields measures), in pixels.
_WIDTHS = {
    **dict.fromkeys(" ", 3.87),
    **dict.fromkeys("!|.,:;'il", 3.6),
    **dict.fromkeys("fjrt()[]-/", 4.6),
    **dict.fromkeys('Ics"', 5.9),
    **dict.fromkeys("abdeghknopquvxyz0123456789?$#_+=<>~^", 6.9),
    **dict.fromkeys("FJLPSTYZ&", 7.3),
    **dict.fromkeys("ABCEKRVX", 7.6),
    **dict.fromkeys("DGHNOQU", 8.4),
    **dict.fromkeys("w%", 9.0),
    **dict.fromkeys("mM", 10.0),
    **dict.fromkeys("W@", 11.0),
}
_WIDE = 11.0  # anything else (accents are close to their letter; CJK and symbols are wider)
PADDING = 10  # 5 px each side


def text_width(text: str) -> int:
    """The width of `text` in Verdana 11 px, rounded up."""
    return int(-(-sum(_WIDTHS.get(ch, _WIDE if ord(ch) > 0x24F else 7.0) for ch in text) // 1))


def badge_svg(*, label: str, status: str) -> SafeString:
    """A flat badge: `label` on grey, the status in words on its colour."""
    message = ComponentStatus(status).label.lower()
    colour = COLOURS[status]
    left, right = text_width(label) + PADDING, text_width(message) + PADDING
    width = left + right
    label_e, message_e = escape(label), escape(message)
    # Text is drawn at 10x and scaled down, as shields does, for even kerning.
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{label_e}: {message_e}">',
        f"<title>{label_e}: {message_e}</title>",
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>',
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>',
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}" data-status="{escape(status)}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>',
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'text-rendering="geometricPrecision" font-size="110">',
        f'<text aria-hidden="true" x="{left * 5}" y="150" fill="#010101" fill-opacity=".3" '
        f'transform="scale(.1)" textLength="{(left - PADDING) * 10}">{label_e}</text>',
        f'<text x="{left * 5}" y="140" transform="scale(.1)" textLength="{(left - PADDING) * 10}">{label_e}</text>',
        f'<text aria-hidden="true" x="{left * 10 + right * 5}" y="150" fill="#010101" fill-opacity=".3" '
        f'transform="scale(.1)" textLength="{(right - PADDING) * 10}">{message_e}</text>',
        f'<text x="{left * 10 + right * 5}" y="140" transform="scale(.1)" '
        f'textLength="{(right - PADDING) * 10}">{message_e}</text>',
        "</g></svg>",
    ]
    return mark_safe("".join(parts))  # noqa: S308 - every data value above is escaped
