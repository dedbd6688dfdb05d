"""The staff page for recovery analytics (Admin → Recovery analytics), linked
from the admin index. A thin view: the figures are `billing.analytics`."""

from datetime import date, datetime, time

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone

from levqor.plans import CURRENCY

from . import analytics
from .statement import money


def _as_of(value: str) -> datetime:
    """`?as_of=YYYY-MM-DD`: the figures as at the end of that day (a past
    month's review); otherwise, or for a malformed date, now."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return timezone.now()
    end = timezone.make_aware(datetime.combine(day, time.max))
    return min(end, timezone.now())


def recovery_analytics_view(request):
    if not request.user.has_perm("billing.view_dunningcase"):
        raise PermissionDenied
    now = _as_of(request.GET.get("as_of", ""))
    figures = analytics.recovery_figures(now=now)
    currency = CURRENCY.lower()
    per_month = {(row["month"].date(), row["currency"]): row for row in figures.by_month}
    month_rows = []
    for month in analytics.month_labels(now):
        row = per_month.get((month.date(), currency))
        minor = row["minor"] if row else 0
        month_rows.append((month.strftime("%b %Y"), minor, money(minor, currency)))
    charts = {
        "by_month": analytics.svg_bars(title=f"Recovered per month ({CURRENCY})", rows=month_rows),
        "at_risk": analytics.svg_bars(
            title=f"Revenue at risk by stage ({CURRENCY})",
            rows=[
                (row["stage"], row["minor"], row["amount"]) for row in figures.at_risk if row["currency"] == currency
            ],
        ),
        "by_code": analytics.svg_bars(
            title="Failures by decline code",
            rows=[(row["code"], row["cases"], str(row["cases"])) for row in figures.by_code[:15]],
        ),
    }
    context = {
        **admin.site.each_context(request),
        "title": "Recovery analytics",
        "figures": figures,
        "charts": charts,
        "generated_at": now,
        "as_of": request.GET.get("as_of", ""),
        "time_zone": settings.TIME_ZONE,
    }
    return TemplateResponse(request, "billing/admin_recovery.html", context)
