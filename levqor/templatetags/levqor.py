import json

from django import template

from levqor import plans

register = template.Library()


@register.filter
def gbp(amount) -> str:
    """Whole pounds as every page shows them: {{ plan.monthly|gbp }} → £9."""
    return plans.gbp(amount)


@register.filter
def dfy_timeline(tier) -> str:
    return plans.dfy_timeline(tier)


@register.filter
def json_pretty(value) -> str:
    """A JSON value as indented JSON text (for <pre>; the template escapes it)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)
