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
