"""One form style for every customer page: Django's form renderer pointed at
`templates/forms/` (label above the field, hint, error beside the field,
radio groups and checkbox lists in a fieldset), and UK-format date input.

Pages render a form with `{{ form }}` (or `{{ form.field.as_field_group }}`
for one field) and get the same markup everywhere; `static/css/site.css`
styles it. Works without JavaScript."""

from datetime import date

from django import forms
from django.forms.renderers import TemplatesSetting

UK_DATE_FORMATS = ["%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%d %m %Y", "%Y-%m-%d"]


class FormRenderer(TemplatesSetting):
    """The project's templates first, so `forms/field.html` is ours; Django's
    widget templates come from `django.forms` in INSTALLED_APPS."""

    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"


class UKDateInput(forms.DateInput):
    """A text box for dd/mm/yyyy: the browser's own date picker follows the
    browser's locale (mm/dd/yyyy on a US-English browser), not the site's."""

    input_type = "text"

    def __init__(self, attrs=None):
        defaults = {"inputmode": "numeric", "autocomplete": "off", "placeholder": "dd/mm/yyyy", "size": 12}
        super().__init__(attrs={**defaults, **(attrs or {})}, format="%d/%m/%Y")


class UKDateField(forms.DateField):
    """A date typed as dd/mm/yyyy (ISO yyyy-mm-dd is accepted too)."""

    widget = UKDateInput
    input_formats = UK_DATE_FORMATS
    default_error_messages = {"invalid": "Enter a real date as dd/mm/yyyy, for example 27/10/2026."}


def month_choices(*, first: date, last: date) -> list[tuple[str, str]]:
    """("2026-10", "October 2026") for every month from `last` back to `first`:
    a month picker that is a plain <select>, so it needs no JavaScript and
    every browser shows it the same way."""
    choices = []
    year, month = last.year, last.month
    while (year, month) >= (first.year, first.month):
        choices.append((f"{year:04d}-{month:02d}", date(year, month, 1).strftime("%B %Y")))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return choices
