"""JSON Schema checks with field-level errors: `{"payload.email": ["..."]}`."""

import re

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from .steps import STEPS_SCHEMA

_REQUIRED = re.compile(r"^'(?P<name>.+)' is a required property$")
MAX_ERRORS = 50


def _path(root: str, parts) -> str:
    return ".".join([root, *(str(part) for part in parts)]) if root else ".".join(str(p) for p in parts)


def schema_errors(schema: dict, instance, *, root: str) -> dict[str, list[str]]:
    """Every way `instance` breaks `schema`, keyed by the dotted path of the
    offending field (a missing property is reported at its own path)."""
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    fields: dict[str, list[str]] = {}
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        parts = list(error.absolute_path)
        message = error.message
        if error.validator == "required" and (match := _REQUIRED.match(error.message)):
            parts.append(match["name"])
            message = "This field is required."
        fields.setdefault(_path(root, parts) or root, []).append(message)
        if len(fields) >= MAX_ERRORS:
            break
    return fields


def nul_errors(value, *, root: str) -> dict[str, list[str]]:
    """NUL characters anywhere in a JSON value (PostgreSQL's jsonb refuses them)."""
    if isinstance(value, str):
        return {root: ["Text may not contain NUL (\\u0000) characters."]} if "\x00" in value else {}
    errors: dict[str, list[str]] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return {root: ["Keys may not contain NUL (\\u0000) characters."]}
            errors.update(nul_errors(item, root=f"{root}.{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            errors.update(nul_errors(item, root=f"{root}.{index}"))
    return errors


def check_input_schema(schema) -> dict[str, list[str]]:
    """Errors in a workflow's own input schema (it must describe an object and
    be usable: no remote references, valid patterns)."""
    if not isinstance(schema, dict):
        return {"input_schema": ["Must be a JSON Schema object."]}
    if errors := nul_errors(schema, root="input_schema"):
        return errors
    try:
        Draft202012Validator.check_schema(schema, format_checker=FormatChecker())
    except SchemaError as exc:
        return {_path("input_schema", exc.absolute_path): [exc.message]}
    if schema and schema.get("type", "object") != "object":
        return {"input_schema.type": ['Run payloads are JSON objects: use "type": "object".']}
    try:
        for instance in ({}, {"example": "value"}):
            list(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(instance))
    except Exception as exc:  # unresolvable $ref, bad regex, recursion: unusable
        return {"input_schema": [f"The schema cannot be evaluated: {type(exc).__name__}."]}
    return {}


def check_steps(steps) -> dict[str, list[str]]:
    return nul_errors(steps, root="steps") or schema_errors(STEPS_SCHEMA, steps, root="steps")


def check_payload(schema: dict, payload) -> None:
    """Raise ValidationError with field-level messages if the payload breaks the schema."""
    if not isinstance(payload, dict):
        raise ValidationError({"payload": ["Must be a JSON object."]})
    errors = nul_errors(payload, root="payload")
    if not errors:
        try:
            errors = schema_errors(schema or {}, payload, root="payload")
        except Exception as exc:  # a schema that cannot be evaluated is the workflow's fault
            raise ValidationError(
                {"input_schema": [f"The workflow's input schema cannot be evaluated: {type(exc).__name__}."]}
            ) from exc
    if errors:
        raise ValidationError(errors)
