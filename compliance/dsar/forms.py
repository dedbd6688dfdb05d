from django import forms


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


class ExtendForm(ReasonForm):
    months = forms.TypedChoiceField(choices=[(1, "One month"), (2, "Two months")], coerce=int)
