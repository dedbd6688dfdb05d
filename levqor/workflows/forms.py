"""Customer forms for workflows and runs: parse JSON and describe the input;
the rules (schema and step checks, screening, read-only accounts) live in
the services the API calls too."""

import json

from django import forms
from django.core.exceptions import ValidationError

from .models import Workflow

EXAMPLE_SCHEMA = {
    "type": "object",
    "required": ["email"],
    "properties": {"email": {"type": "string", "format": "email"}, "name": {"type": "string"}},
}
EXAMPLE_STEPS = [
    {"type": "require", "name": "check", "fields": ["email"]},
    {"type": "transform", "name": "greet", "set": {"subject": "Welcome {{name}}"}},
]


class JsonTextarea(forms.Textarea):
    """A monospaced text box holding pretty-printed JSON."""

    def __init__(self, rows: int = 10):
        super().__init__(attrs={"rows": rows, "class": "code-input", "spellcheck": "false"})

    def format_value(self, value):
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class PrettyJSONField(forms.JSONField):
    widget = JsonTextarea
    default_error_messages = {"invalid": "This is not valid JSON: check quotes, commas and brackets."}

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class WorkflowForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("live", "Live: runs for real and counts towards your plan"), ("sandbox", "Sandbox: for testing")],
        widget=forms.RadioSelect,
        initial="live",
        help_text="Fixed once the workflow is created. Sandbox keys see only sandbox workflows.",
    )
    name = forms.CharField(max_length=200)
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    input_schema = PrettyJSONField(
        label="Input schema",
        initial=EXAMPLE_SCHEMA,
        help_text="A JSON Schema (2020-12) object: every run's input must match it.",
    )
    steps = PrettyJSONField(
        label="Steps",
        initial=EXAMPLE_STEPS,
        widget=JsonTextarea(rows=14),
        help_text="A JSON list of steps run in order; the API documentation lists the step types.",
    )

    def __init__(self, *args, workflow: Workflow | None = None, **kwargs):
        if workflow is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": workflow.name,
                    "description": workflow.description,
                    "input_schema": workflow.input_schema,
                    "steps": workflow.steps,
                },
            )
        super().__init__(*args, **kwargs)
        if workflow is not None:
            del self.fields["mode"]  # a workflow's mode never changes

    def definition(self) -> dict:
        return {field: self.cleaned_data[field] for field in ("name", "description", "input_schema", "steps")}


class RunForm(forms.Form):
    payload = PrettyJSONField(
        label="Input",
        widget=JsonTextarea(rows=8),
        help_text="A JSON object matching the workflow's input schema.",
    )

    def __init__(self, *args, workflow: Workflow, **kwargs):
        kwargs.setdefault("initial", {"payload": example_payload(workflow.input_schema)})
        super().__init__(*args, **kwargs)


def example_payload(schema: dict) -> dict:
    """A starting point for the input box: each property of the schema with an empty value of its type."""
    blanks = {"string": "", "number": 0, "integer": 0, "boolean": False, "array": [], "object": {}}
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return {}
    return {
        name: blanks.get(spec.get("type"), "") if isinstance(spec, dict) else ""
        for name, spec in list(properties.items())[:20]
    }


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's errors beside the field they name: "steps.0.type" is
    shown on Steps, as "steps.0.type: …", so the customer knows where to look."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, errors in exc.message_dict.items():
        field = key.split(".")[0]
        if field in form.fields:
            form.add_error(field, [error if key == field else f"{key}: {error}" for error in errors])
        else:
            form.add_error(None, [f"{key}: {error}" for error in errors])
