from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from levqor.lib.drf.serializers import StrictInputSerializer

from .models import Run, RunLog, Workflow
from .steps import MAX_DELAY_SECONDS, MAX_STEPS, STEP_TYPES

STEPS_HELP = (
    f"1 to {MAX_STEPS} steps, run in order. Each is an object with `type` (one of {', '.join(STEP_TYPES)}) "
    "and a unique `name` (lower-case letters, digits, underscores), plus: transform → `set` "
    '({"key": "text with {{field}}"}); delay → `seconds` (0–10); http_mock → `url`, optional `method`; '
    "llm_mock → `prompt`; require → `fields` (list of names that must be present)."
)
SCHEMA_HELP = "A JSON Schema (draft 2020-12) for run payloads; `{}` accepts any object."


@extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True}})
class StepsField(serializers.ListField):
    child = serializers.DictField()


_STEP_NAME = {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,49}$"}
# What each step type takes besides `type` and `name` (levqor/workflows/steps.py
# STEPS_SCHEMA checks the values; the keys are checked here, so a misspelt key
# is refused rather than stored and ignored).
STEP_FIELDS: dict[str, dict[str, dict]] = {
    "transform": {
        "set": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string", "maxLength": 2000}}
    },
    "delay": {"seconds": {"type": "number", "minimum": 0, "maximum": MAX_DELAY_SECONDS}},
    "http_mock": {
        "url": {"type": "string", "pattern": "^https?://", "maxLength": 500},
        "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
    },
    "llm_mock": {"prompt": {"type": "string", "maxLength": 4000}},
    "require": {"fields": {"type": "array", "minItems": 1, "items": {"type": "string", "maxLength": 100}}},
}
_OPTIONAL_STEP_FIELDS = {"method"}
assert set(STEP_FIELDS) == set(STEP_TYPES)


def _step_schema(kind: str) -> dict:
    own = STEP_FIELDS[kind]
    return {
        "type": "object",
        "title": kind,
        "properties": {"type": {"type": "string", "enum": [kind]}, "name": _STEP_NAME, **own},
        "required": ["type", "name", *(name for name in own if name not in _OPTIONAL_STEP_FIELDS)],
        "additionalProperties": False,
    }


@extend_schema_field(
    {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_STEPS,
        "items": {"oneOf": [_step_schema(kind) for kind in STEP_TYPES]},
        "description": "Step names must be unique within a workflow.",
    }
)
class StepsInputField(StepsField):
    """Steps as a request takes them: each step's keys must belong to its type."""

    def to_internal_value(self, data):
        steps = super().to_internal_value(data)
        errors = {}
        for index, step in enumerate(steps):
            kind = step.get("type")
            if kind not in STEP_FIELDS:
                continue  # the service reports the bad type
            unknown = sorted(set(step) - {"type", "name", *STEP_FIELDS[kind]})
            if unknown:
                takes = ", ".join(["type", "name", *STEP_FIELDS[kind]])
                errors[index] = {name: [f"Unknown field for a {kind} step (it takes {takes})."] for name in unknown}
        if errors:
            raise serializers.ValidationError(errors)
        return steps


class WorkflowSerializer(serializers.ModelSerializer):
    sandbox = serializers.BooleanField(source="is_sandbox", read_only=True, help_text="True for sandbox data.")
    steps = StepsField(help_text=STEPS_HELP)
    input_schema = serializers.DictField(help_text=SCHEMA_HELP)

    class Meta:
        model = Workflow
        fields = ["id", "name", "description", "input_schema", "steps", "sandbox", "created_at", "updated_at"]
        read_only_fields = fields


class WorkflowCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    input_schema = serializers.DictField(required=False, default=dict, help_text=SCHEMA_HELP)
    steps = StepsInputField(min_length=1, max_length=MAX_STEPS, help_text=STEPS_HELP)


class WorkflowUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    input_schema = serializers.DictField(required=False, help_text=SCHEMA_HELP)
    steps = StepsInputField(required=False, min_length=1, max_length=MAX_STEPS, help_text=STEPS_HELP)


class RunCreateSerializer(StrictInputSerializer):
    payload = serializers.DictField(
        required=False, default=dict, help_text="The run's input; must satisfy the workflow's input_schema."
    )


class RunSerializer(serializers.ModelSerializer):
    workflow = serializers.UUIDField(source="workflow_id", read_only=True)
    sandbox = serializers.BooleanField(source="is_sandbox", read_only=True)
    cost = serializers.DecimalField(
        max_digits=12, decimal_places=6, read_only=True, help_text="GBP, as a string (sandbox runs are never billed)."
    )
    queued_at = serializers.DateTimeField(source="created_at", read_only=True)
    duration_ms = serializers.IntegerField(read_only=True, allow_null=True)
    output = serializers.DictField(read_only=True, allow_null=True, help_text="Each step's output, once succeeded.")
    payload = serializers.DictField(read_only=True)
    logs_url = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id",
            "workflow",
            "status",
            "sandbox",
            "payload",
            "output",
            "error",
            "cost",
            "queued_at",
            "started_at",
            "finished_at",
            "duration_ms",
            "logs_url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_logs_url(self, run: Run) -> str:
        return reverse("workflows:run_logs", args=[run.pk])


class RunLogSerializer(serializers.ModelSerializer):
    data = serializers.DictField(read_only=True)

    class Meta:
        model = RunLog
        fields = ["seq", "at", "level", "step", "message", "data"]
        read_only_fields = fields


class SandboxMetricsSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    quota_reset_at = serializers.DateTimeField()
    calls_used = serializers.IntegerField()
    calls_limit = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    calls_remaining = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    workflows = serializers.IntegerField()
    runs_total = serializers.IntegerField()
    runs_succeeded = serializers.IntegerField()
    runs_failed = serializers.IntegerField()
    average_duration_ms = serializers.IntegerField(allow_null=True)
    simulated_cost = serializers.DecimalField(max_digits=12, decimal_places=6, help_text="GBP, never billed.")
