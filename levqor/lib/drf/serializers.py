"""Strict API input: the one base every request-body serializer extends.

Like Stripe, a body that names a field the endpoint does not take is refused
with 400 `unknown_field`, naming each such field, before anything else is
validated: a misspelt or renamed field is never silently dropped.
"""

from collections.abc import Mapping

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from .errors import UnknownField


class StrictInputSerializer(serializers.Serializer):
    """A request body serializer that refuses fields it does not declare."""

    # More JSON Schema for the request body, for rules `validate` enforces.
    schema_extra: dict = {}

    def accepted_fields(self) -> list[str]:
        return [name for name, field in self.fields.items() if not field.read_only]

    def unknown_fields(self) -> list[str]:
        data = getattr(self, "initial_data", None)
        if not isinstance(data, Mapping):
            return []  # not an object: the usual "expected a dictionary" error
        accepted = set(self.accepted_fields())
        return sorted(str(name) for name in data if name not in accepted)

    def is_valid(self, *, raise_exception=False):
        unknown = self.unknown_fields()
        if unknown:
            error = UnknownField(unknown=unknown, accepted=self.accepted_fields())
            if raise_exception:
                raise error
            self._validated_data = {}
            self._errors = error.details["fields"]
            return False
        return super().is_valid(raise_exception=raise_exception)


class EmptyBodySerializer(StrictInputSerializer):
    """For write endpoints that take no body: any field is unknown."""


# What DRF's CharField refuses, said in the schema: NUL characters always, and
# text that is only whitespace (it trims it) where blank is not allowed.
_NO_NUL = r"^[^\x00]*$"
_NOT_BLANK = r"^[^\x00]*\S[^\x00]*$"


def request_schema_tighten(serializer, schema: dict) -> dict:
    """A strict serializer's request schema: no other property, and the text rules DRF applies."""
    for name, field in serializer.fields.items():
        described = schema.get("properties", {}).get(name)
        if isinstance(field, serializers.CharField) and described is not None and "pattern" not in described:
            described["pattern"] = _NO_NUL if field.allow_blank else _NOT_BLANK
    schema["additionalProperties"] = False
    return schema


class StrictInputScheme(OpenApiSerializerExtension):
    """OpenAPI: a strict serializer's request body allows no other property
    (`additionalProperties: false`), plus any `schema_extra` it declares."""

    target_class = StrictInputSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if "__doc__" not in vars(type(self.target)) or not type(self.target).__doc__:
            schema.pop("description", None)  # not this base's docstring
        if direction == "request":
            request_schema_tighten(self.target, schema)
            schema.update(getattr(self.target, "schema_extra", {}))
        return schema
