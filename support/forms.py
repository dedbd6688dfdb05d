"""Customer forms: parse and describe input; the rules live in services."""

from datetime import date

from django import forms

from levqor.lib.forms import UKDateField, UKDateInput, month_choices

from . import attachments
from .models import Dispute, Impact, SlaCreditRequest
from .rules import Period, add_months, day_period, month_period


class SlaCreditForm(forms.Form):
    """The plan is not asked: the credit is a share of the account's own fee."""

    period_kind = forms.ChoiceField(
        label="What are you claiming for?", choices=SlaCreditRequest.PeriodKind.choices, widget=forms.RadioSelect
    )
    # Offered months: the claim window (this month and the two before it).
    # A posted month outside it still reaches the service, which says why
    # it is refused (in the future, or past its claim deadline).
    month = forms.CharField(label="Month", required=False, widget=forms.Select)
    incident_date = forms.CharField(
        label="Date of the incident",
        required=False,
        help_text="As dd/mm/yyyy, for example 27/10/2026.",
        widget=UKDateInput,
    )
    impact = forms.ChoiceField(choices=Impact.choices, widget=forms.RadioSelect)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=5000,
        help_text="What failed, when (with times and time zone), what you could not do, and any reference numbers.",
    )
    attachment = forms.FileField(required=False, help_text=f"{attachments.describe_limits()}.")

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        # Required when their period kind is chosen, so not labelled "optional".
        self.fields["month"].conditional = self.fields["incident_date"].conditional = True
        this_month = today.replace(day=1)
        self.fields["month"].widget.choices = [
            ("", "Choose a month"),
            *month_choices(first=add_months(this_month, -2), last=this_month),
        ]

    def clean_month(self) -> date | None:
        raw = (self.cleaned_data.get("month") or "").strip()
        if not raw:
            return None
        try:
            year, month = (int(part) for part in raw.split("-")[:2])
            return date(year, month, 1)
        except ValueError:
            raise forms.ValidationError("Choose a month from the list.") from None

    def clean(self):
        data = super().clean()
        kind = data.get("period_kind")
        # Only the field that applies to the chosen kind is read: the other
        # one is hidden on the page and whatever it holds is ignored.
        if kind == SlaCreditRequest.PeriodKind.MONTH:
            self.errors.pop("incident_date", None)
            if not data.get("month") and "month" not in self.errors:
                self.add_error("month", "Enter the month you are claiming for.")
        if kind == SlaCreditRequest.PeriodKind.DAY:
            self.errors.pop("month", None)
            data["incident_date"] = self._incident_date(data.get("incident_date"))
        return data

    def _incident_date(self, raw: str | None) -> date | None:
        if not (raw or "").strip():
            self.add_error("incident_date", "Enter the date of the incident.")
            return None
        try:
            return UKDateField().clean(raw)
        except forms.ValidationError as exc:
            self.add_error("incident_date", exc)
            return None

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
