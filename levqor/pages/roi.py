"""The ROI calculator on /pricing: hours a week spent on manual work and an
hourly rate → hours and money a month that work costs, which is what
automating it saves. Plain arithmetic, no discount and no price of ours
changes: the plans are shown beside it as they are. pages/static/pages/pricing.js
repeats this formula so the page updates as you type; the server's answer
(a GET form) is the one that counts without JavaScript."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django import forms

WEEKS_PER_MONTH = Decimal(52) / Decimal(12)  # 4.333…: a year's weeks spread over its months
MAX_HOURS = 168  # a week
MAX_RATE = 10_000


class RoiForm(forms.Form):
    hours = forms.DecimalField(
        label="Hours a week spent on manual work",
        min_value=0,
        max_value=MAX_HOURS,
        max_digits=5,
        decimal_places=1,
        initial=5,
        widget=forms.NumberInput(attrs={"step": "0.5", "inputmode": "decimal"}),
    )
    rate = forms.DecimalField(
        label="Hourly cost of that time (£)",
        min_value=0,
        max_value=MAX_RATE,
        max_digits=7,
        decimal_places=2,
        initial=20,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


@dataclass(frozen=True)
class Saving:
    hours_per_month: Decimal
    money_per_month: Decimal


def roi_saving(*, hours_per_week: Decimal, hourly_rate: Decimal) -> Saving:
    hours = (hours_per_week * WEEKS_PER_MONTH).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    money = (hours_per_week * WEEKS_PER_MONTH * hourly_rate).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return Saving(hours_per_month=hours, money_per_month=money)
