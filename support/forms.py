"""Customer forms: parse and describe input; the rules live in services."""

from datetime import date

from django import forms

from levqor.plans import PLAN_CHOICES

from . import attachments
from .models import Dispute, Impact, SlaCreditRequest
from .rules import Period, day_period, month_period


class SlaCreditForm(forms.Form):
    plan = forms.ChoiceField(
        choices=PLAN_CHOICES, help_text="Your plan during the period (prefilled from your account)."
    )
    period_kind = forms.ChoiceField(
        label="What are you claiming for?", choices=SlaCreditRequest.PeriodKind.choices, widget=forms.RadioSelect
    )
    month = forms.CharField(
        label="Month",
        required=False,
        help_text="For a whole month: YYYY-MM, e.g. 2026-10.",
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )
    incident_date = forms.DateField(
        label="Incident date",
        required=False,
        help_text="For one day: the date of the incident (YYYY-MM-DD).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    impact = forms.ChoiceField(choices=Impact.choices, widget=forms.RadioSelect)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=5000,
        help_text="What failed, when (with times and time zone), what you could not do, and any reference numbers.",
    )
    attachment = forms.FileField(required=False, help_text=f"Optional: {attachments.describe_limits()}.")

    def clean_month(self) -> date | None:
        raw = (self.cleaned_data.get("month") or "").strip()
        if not raw:
            return None
        try:
            year, month = (int(part) for part in raw.split("-")[:2])
            return date(year, month, 1)
        except ValueError:
            raise forms.ValidationError("Enter the month as YYYY-MM, e.g. 2026-10.") from None

    def clean(self):
        data = super().clean()
        kind = data.get("period_kind")
        if kind == SlaCreditRequest.PeriodKind.MONTH and not data.get("month"):
            self.add_error("month", "Enter the month you are claiming for.")
        if kind == SlaCreditRequest.PeriodKind.DAY and not data.get("incident_date"):
            self.add_error("incident_date", "Enter the date of the incident.")
        return data

    def period(self) -> Period:
        if self.cleaned_data["period_kind"] == SlaCreditRequest.PeriodKind.MONTH:
            return month_period(self.cleaned_data["month"])
        return day_period(self.cleaned_data["incident_date"])


class MoreInfoForm(forms.Form):
    body = forms.CharField(label="More information", widget=forms.Textarea(attrs={"rows": 5}), max_length=5000)


class DisputeForm(forms.Form):
    category = forms.ChoiceField(choices=Dispute.Category.choices)
    subject = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=10000)


class DisputeMessageForm(forms.Form):
    body = forms.CharField(label="Your message", widget=forms.Textarea(attrs={"rows": 4}), max_length=10000)


class TicketForm(forms.Form):
    subject = forms.CharField(max_length=200)
    body = forms.CharField(
        label="How can we help?",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=20000,
        help_text="What you were doing, what happened, and any workflow or run ids.",
    )


class TicketReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs={"rows": 5}), max_length=20000)
