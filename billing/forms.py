from django import forms

from levqor.plans import PLAN_CHOICES

from .catalogue import INTERVALS


class CheckoutForm(forms.Form):
    """The "Start free trial" button's hidden fields."""

    plan = forms.ChoiceField(choices=PLAN_CHOICES)
    interval = forms.ChoiceField(choices=[(interval, interval.title()) for interval in INTERVALS])
