from django import forms

from .models import ApiKey
from .services import DEFAULT_OVERLAP_HOURS, OVERLAP_CHOICES_HOURS


def _overlap_label(hours: int) -> str:
    if hours == 0:
        return "None: the old key stops now"
    if hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days > 1 else ''}"
    return f"{hours} hour{'s' if hours > 1 else ''}"


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “CRM sync”.")
    mode = forms.ChoiceField(
        choices=ApiKey.Mode.choices,
        initial=ApiKey.Mode.TEST,
        widget=forms.RadioSelect,
        help_text="Sandbox keys see only sandbox data, never bill and complete runs instantly.",
    )


class ApiKeyRotateForm(forms.Form):
    overlap_hours = forms.TypedChoiceField(
        choices=[(hours, _overlap_label(hours)) for hours in OVERLAP_CHOICES_HOURS],
        coerce=int,
        initial=DEFAULT_OVERLAP_HOURS,
        label="Keep the old key working for",
    )
