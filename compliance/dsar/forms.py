from django import forms

from ..models import Objection
from .models import PrivacyRequest


class ErasureRequestForm(forms.Form):
    confirm = forms.BooleanField(
        required=True,
        label="I understand that my personal data will be erased and my account closed, and this cannot be undone.",
        error_messages={"required": "Tick the box to confirm you want your data deleted."},
    )
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Anything we should know",
    )


class ReasonForm(forms.Form):
    """Staff: the reason for a decision, emailed to the person."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), max_length=2000)


class NoteForm(forms.Form):
    """Staff: an optional note emailed with an answer (required for a correction)."""

    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), max_length=2000)


class ExtendForm(ReasonForm):
    months = forms.TypedChoiceField(choices=[(1, "One month"), (2, "Two months")], coerce=int)


class PrivacyRequestForm(forms.Form):
    """/privacy/request: anyone's data request, verified by email."""

    email = forms.EmailField(max_length=254, label="Your email address")
    kind = forms.ChoiceField(choices=PrivacyRequest.Kind.choices, widget=forms.RadioSelect, label="What you ask")
    objection_kinds = forms.MultipleChoiceField(
        choices=Objection.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="If you object: to what (none ticked means all of these)",
    )
    details = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Details (optional; for a correction, say what is wrong and what it should be)",
    )
