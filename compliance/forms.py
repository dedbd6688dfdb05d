from django import forms

from .models import MARKETING_TOPIC_DESCRIPTIONS, MARKETING_TOPICS, Objection


def _topic(code: str) -> forms.BooleanField:
    """A topic's box: never ticked for the person (pre-ticked boxes are not
    consent), with its one-line description."""
    return forms.BooleanField(
        required=False, label=dict(MARKETING_TOPICS)[code], help_text=MARKETING_TOPIC_DESCRIPTIONS[code]
    )


class CookiePreferencesForm(forms.Form):
    functional = forms.BooleanField(
        required=False, label="Functional", help_text="Remembering settings such as your preferred view."
    )
    analytics = forms.BooleanField(
        required=False, label="Analytics", help_text="Counting visits and page use so we can improve the site."
    )
    marketing = forms.BooleanField(
        required=False, label="Marketing", help_text="Measuring our campaigns and showing relevant offers."
    )


class TermsAcceptForm(forms.Form):
    version = forms.CharField(widget=forms.HiddenInput)
    agree = forms.BooleanField(
        label="I have read and accept these terms of service",
        error_messages={"required": "Tick the box to accept the terms, or sign out."},
    )


class SubscribeForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": "Enter your email address.", "invalid": "Enter a valid email address."},
    )
    product_updates = _topic("product_updates")
    offers = _topic("offers")
    technical = _topic("technical")
    events = _topic("events")
    educational = _topic("educational")

    def clean(self):
        data = super().clean()
        if not any(data.get(code) for code, _ in MARKETING_TOPICS):
            raise forms.ValidationError("Choose at least one kind of email you would like.")
        return data

    def topics(self) -> dict[str, bool]:
        return {code: bool(self.cleaned_data.get(code)) for code, _ in MARKETING_TOPICS}


class PreferencesForm(forms.Form):
    product_updates = _topic("product_updates")
    offers = _topic("offers")
    technical = _topic("technical")
    events = _topic("events")
    educational = _topic("educational")

    def topics(self) -> dict[str, bool]:
        return {code: bool(self.cleaned_data.get(code)) for code, _ in MARKETING_TOPICS}


class ObjectionForm(forms.Form):
    marketing = forms.BooleanField(
        required=False,
        label=Objection.Kind.MARKETING.label,
        help_text="No marketing email of any kind (this also unsubscribes you).",
    )
    profiling = forms.BooleanField(
        required=False,
        label=Objection.Kind.PROFILING.label,
        help_text="We will not build a profile of your use to tailor offers.",
    )
    automation = forms.BooleanField(
        required=False,
        label=Objection.Kind.AUTOMATION.label,
        help_text="No decision about you is made by automation alone; a person reviews it.",
    )
    analytics = forms.BooleanField(
        required=False,
        label=Objection.Kind.ANALYTICS.label,
        help_text="Your use is left out of our product analytics.",
    )


class AppealForm(forms.Form):
    explanation = forms.CharField(
        label="Why should this be allowed?",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=5000,
        error_messages={"required": "Explain why this data is not high-risk, or why you need to process it."},
    )

    def clean_explanation(self):
        value = self.cleaned_data["explanation"].strip()
        if len(value) < 20:
            raise forms.ValidationError("Please give a little more detail (at least 20 characters).")
        return value
