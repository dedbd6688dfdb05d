"""The built-in step engine: what a workflow's `steps` may contain and how a
run executes them.

Steps never touch the network: `http_mock` and `llm_mock` produce realistic,
deterministic results from the data they are given, so the same engine
serves live runs (in a django-q2 task) and sandbox runs (inline, instantly).

Each step reads and writes one `context` dict: the run's payload plus every
earlier step's output under its `name`. Strings may refer to context values
as `{{field}}` or `{{step_name.field}}`.
"""

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

MAX_STEPS = 20
MAX_DELAY_SECONDS = 10

_NAME = {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,49}$"}

STEP_TYPES = ("transform", "delay", "http_mock", "llm_mock", "require")

# The JSON Schema every workflow's `steps` must satisfy (checked on create and
# update, with field-level errors).
STEPS_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_STEPS,
    "items": {
        "type": "object",
        "required": ["type", "name"],
        "properties": {"type": {"enum": list(STEP_TYPES)}, "name": _NAME},
        "allOf": [
            {
                "if": {"properties": {"type": {"const": "transform"}}},
                "then": {
                    "required": ["set"],
                    "properties": {
                        "set": {
                            "type": "object",
                            "minProperties": 1,
                            "additionalProperties": {"type": "string", "maxLength": 2000},
                        }
                    },
                },
            },
            {
                "if": {"properties": {"type": {"const": "delay"}}},
                "then": {
                    "required": ["seconds"],
                    "properties": {"seconds": {"type": "number", "minimum": 0, "maximum": MAX_DELAY_SECONDS}},
                },
            },
            {
                "if": {"properties": {"type": {"const": "http_mock"}}},
                "then": {
                    "required": ["url"],
                    "properties": {
                        "url": {"type": "string", "pattern": "^https?://", "maxLength": 500},
                        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                    },
                },
            },
            {
                "if": {"properties": {"type": {"const": "llm_mock"}}},
                "then": {"required": ["prompt"], "properties": {"prompt": {"type": "string", "maxLength": 4000}}},
            },
            {
                "if": {"properties": {"type": {"const": "require"}}},
                "then": {
                    "required": ["fields"],
                    "properties": {
                        "fields": {"type": "array", "minItems": 1, "items": {"type": "string", "maxLength": 100}}
                    },
                },
            },
        ],
    },
}

# Prices of the simulated work, in GBP (what a run's `cost` adds up).
COST_PER_RUN = Decimal("0.0005")
COST_PER_HTTP_CALL = Decimal("0.0001")
COST_PER_1K_TOKENS = Decimal("0.002")
MOCK_MODEL = "levqor-mock-1"

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")


class StepFailed(Exception):
    """A step could not complete; the run fails with this message."""


@dataclass
class StepResult:
    output: dict
    cost: Decimal = Decimal("0")
    log: str = ""
    log_data: dict = field(default_factory=dict)


def lookup(context: dict, dotted: str):
    value = context
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def render(template: str, context: dict) -> str:
    """Fill `{{name}}` placeholders from the context. Only plain lookups: no
    attribute access or code, whatever the template says."""

    def replace(match: re.Match) -> str:
        value = lookup(context, match[1])
        if value is None:
            return ""
        return value if isinstance(value, str) else json.dumps(value, sort_keys=True)

    return _PLACEHOLDER.sub(replace, template)


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _transform(step: dict, context: dict, *, sandbox: bool) -> StepResult:
    output = {key: render(template, context) for key, template in step["set"].items()}
    return StepResult(output=output, log=f"set {', '.join(sorted(output))}")


def _delay(step: dict, context: dict, *, sandbox: bool) -> StepResult:
    seconds = float(step["seconds"])
    if not sandbox and seconds:
        time.sleep(seconds)  # a live run really waits; sandbox runs complete instantly
    return StepResult(output={"waited_seconds": seconds}, log=f"waited {seconds:g} s")


def _http_mock(step: dict, context: dict, *, sandbox: bool) -> StepResult:
    method = step.get("method", "POST")
    digest = _digest(step["url"], method, context)
    body = {"id": f"req_{digest[:16]}", "received": True, "echo": {k: v for k, v in context.items() if k != "steps"}}
    output = {"status": 200, "method": method, "url": step["url"], "body": body, "latency_ms": 40 + int(digest[:2], 16)}
    return StepResult(
        output=output,
        cost=COST_PER_HTTP_CALL,
        log=f"{method} {step['url']} → 200 (simulated, no network)",
        log_data={"latency_ms": output["latency_ms"]},
    )


def _llm_mock(step: dict, context: dict, *, sandbox: bool) -> StepResult:
    prompt = render(step["prompt"], context)
    words = prompt.split()
    tokens_in = max(1, len(prompt) // 4)
    summary = " ".join(words[:12]) + ("…" if len(words) > 12 else "")
    text = f"Summary: {summary}" if summary else "Summary: (empty prompt)"
    tokens_out = max(1, len(text) // 4)
    cost = (COST_PER_1K_TOKENS * (tokens_in + tokens_out) / 1000).quantize(Decimal("0.000001"))
    output = {"model": MOCK_MODEL, "text": text, "tokens_in": tokens_in, "tokens_out": tokens_out}
    return StepResult(
        output=output,
        cost=cost,
        log=f"{MOCK_MODEL}: {tokens_in} tokens in, {tokens_out} out (simulated)",
        log_data={"tokens_in": tokens_in, "tokens_out": tokens_out},
    )


def _require(step: dict, context: dict, *, sandbox: bool) -> StepResult:
    missing = [name for name in step["fields"] if lookup(context, name) in (None, "", [], {})]
    if missing:
        raise StepFailed(f"missing required value(s): {', '.join(missing)}")
    return StepResult(output={"checked": list(step["fields"])}, log=f"checked {len(step['fields'])} field(s)")


HANDLERS: dict[str, Callable[..., StepResult]] = {
    "transform": _transform,
    "delay": _delay,
    "http_mock": _http_mock,
    "llm_mock": _llm_mock,
    "require": _require,
}


def execute(step: dict, context: dict, *, sandbox: bool) -> StepResult:
    return HANDLERS[step["type"]](step, context, sandbox=sandbox)
