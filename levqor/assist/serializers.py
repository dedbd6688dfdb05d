import json

from rest_framework import serializers

from levqor.lib.drf.serializers import EmptyBodySerializer, StrictInputSerializer

MAX_CONTEXT_CHARS = 10_000
CONTEXT_HELP = (
    "Optional facts about where the question comes from, as a JSON object (for example "
    '`{"page": "/account/api-keys"}`); screened like the rest, at most 10,000 characters as JSON.'
)


class ContextField(serializers.DictField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if len(json.dumps(value, ensure_ascii=False, default=str)) > MAX_CONTEXT_CHARS:
            raise serializers.ValidationError(f"At most {MAX_CONTEXT_CHARS:,} characters as JSON.")
        return value


class ChatSerializer(StrictInputSerializer):
    query = serializers.CharField(max_length=2000, help_text="The question, in your words.")
    context = ContextField(required=False, default=dict, help_text=CONTEXT_HELP)


class WorkflowDraftSerializer(StrictInputSerializer):
    description = serializers.CharField(max_length=2000, help_text="What the workflow should do, in plain words.")
    name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="A name for the draft (optional)."
    )


class DebugSerializer(StrictInputSerializer):
    run_id = serializers.UUIDField(required=False, help_text="A run of this key's account and mode.")
    error = serializers.CharField(max_length=4000, required=False, help_text="An error message, if there is no run.")
    context = ContextField(required=False, default=dict, help_text=CONTEXT_HELP)

    # One of the two, never both (what validate() enforces).
    schema_extra = {
        "anyOf": [{"required": ["run_id"]}, {"required": ["error"]}],
        "not": {"required": ["run_id", "error"]},
    }

    def validate(self, attrs):
        if ("run_id" in attrs) == ("error" in attrs):
            raise serializers.ValidationError("Send either run_id or error (one of them).")
        return attrs


class OnboardingSerializer(EmptyBodySerializer):
    """No body (or `{}`): the answer comes from the account's own state."""


class MetaSerializer(serializers.Serializer):
    provider = serializers.CharField(help_text="offline, or the model provider that answered (anthropic).")
    model = serializers.CharField()
    latency_ms = serializers.IntegerField()
    fallback = serializers.CharField(
        allow_null=True,
        help_text="null; or why the offline answer stood in for the configured provider: timeout, error, invalid.",
    )


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField()
    steps = serializers.ListField(child=serializers.CharField(), help_text="Next steps, in order.")
    meta = MetaSerializer()


class WorkflowAnswerSerializer(AnswerSerializer):
    draft = serializers.DictField(
        help_text="A body POST /api/workflows accepts (name, description, input_schema, steps). Never saved."
    )
