"""The one interface every assistant backend implements, and the two we ship.

    provider = provider_get()
    reply = provider.reply(prompt)

A `Prompt` carries the task, the facts gathered for it (docs passages, the
run's logs, the account's state) and the offline answer already worked out
from those facts. `OfflineProvider` returns that answer: deterministic, no
network, no key, no cost. `AnthropicProvider` asks Claude through the
official `anthropic` SDK with the same facts, within a time limit, and
counts the tokens and their cost; if it fails or times out, the caller gets
the offline answer instead (`Reply.fallback` says why).

`settings.LEVQOR_AI_PROVIDER` chooses: "offline", "anthropic", or the dotted
path of any class with this interface (tests use a fake one).
"""

import json
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from . import drafts


@dataclass(frozen=True)
class Answer:
    answer: str
    steps: tuple[str, ...] = ()
    draft: dict | None = None  # the workflow endpoint only


@dataclass(frozen=True)
class Prompt:
    task: str  # chat | workflow | debug | onboarding
    instruction: str  # what the model is asked to do, in one paragraph
    question: str  # the customer's words (already screened)
    facts: dict  # everything the answer may use
    offline: Answer  # the deterministic answer from the same facts


@dataclass(frozen=True)
class Reply:
    answer: Answer
    provider: str
    model: str
    latency_ms: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: Decimal = Decimal("0")
    fallback: str = ""  # why the offline answer was used instead: "timeout" | "error" | "invalid"
    failure: str = ""  # the exception's type, never its message
    extra: dict = field(default_factory=dict)


class Provider(Protocol):
    name: str
    model: str

    def reply(self, prompt: Prompt) -> Reply: ...


class OfflineProvider:
    """The default: the answer worked out from the product's docs and the
    account's data, with no model at all."""

    name = "offline"
    model = "levqor-kb-1"

    def reply(self, prompt: Prompt) -> Reply:
        started = time.monotonic()
        return Reply(prompt.offline, self.name, self.model, latency_ms=_ms_since(started))


SYSTEM = (
    "You are the assistant inside Levqor, an AI workflow automation service for small businesses. "
    "Answer only from the facts you are given; if they do not cover the question, say so and point to "
    "/api-docs or support. Never invent prices, limits or features. Reply with one JSON object and nothing "
    'else: {"answer": "<two to five sentences>", "steps": ["<short imperative next step>", ...]}'
)
WORKFLOW_SYSTEM = SYSTEM[: SYSTEM.index("Reply with")] + (
    "Reply with one JSON object and nothing else: "
    '{"answer": "<what the draft does>", "steps": ["<next step>", ...], "draft": {"name": ..., '
    '"description": ..., "input_schema": {...}, "steps": [...]}}. The draft must use only the step types and '
    "fields in the facts' step catalogue."
)


class AnthropicProvider:
    """Claude through the official SDK (`pip install anthropic`), used when
    LEVQOR_AI_ANTHROPIC_API_KEY is set. Each call is time-boxed by
    LEVQOR_AI_TIMEOUT_SECONDS with no retries, and costed at
    LEVQOR_AI_USD_PER_MTOK_IN / _OUT."""

    name = "anthropic"

    def __init__(self, client=None):
        self.model = settings.LEVQOR_AI_MODEL
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import anthropic  # only when this provider is chosen: the offline default needs no SDK

            self._client = anthropic.Anthropic(
                api_key=settings.LEVQOR_AI_ANTHROPIC_API_KEY,
                base_url=settings.LEVQOR_AI_ANTHROPIC_BASE_URL or None,
                timeout=float(settings.LEVQOR_AI_TIMEOUT_SECONDS),
                max_retries=0,
            )
        return self._client

    def reply(self, prompt: Prompt) -> Reply:
        started = time.monotonic()
        system = WORKFLOW_SYSTEM if prompt.task == "workflow" else SYSTEM
        content = json.dumps(
            {"task": prompt.instruction, "question": prompt.question, "facts": prompt.facts},
            ensure_ascii=False,
            default=str,
        )
        try:
            message = self.client.messages.create(
                model=self.model,
                max_tokens=settings.LEVQOR_AI_MAX_TOKENS,
                system=system,
                messages=[{"role": "user", "content": content}],
            )
        except Exception as exc:  # timeouts, refusals, outages: the offline answer stands in
            reason = "timeout" if "Timeout" in type(exc).__name__ else "error"
            return self._fallback(prompt, started, reason, type(exc).__name__)
        usage = getattr(message, "usage", None)
        tokens_in = int(getattr(usage, "input_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "output_tokens", 0) or 0)
        costed = {"tokens_in": tokens_in, "tokens_out": tokens_out, "cost_usd": cost_usd(tokens_in, tokens_out)}
        text = "".join(getattr(block, "text", "") for block in getattr(message, "content", []) or [])
        answer = parse_answer(text, task=prompt.task)
        if answer is None:
            return replace(self._fallback(prompt, started, "invalid", "InvalidReply"), **costed)
        return Reply(answer, self.name, self.model, latency_ms=_ms_since(started), **costed)

    def _fallback(self, prompt: Prompt, started: float, reason: str, failure: str) -> Reply:
        return Reply(
            prompt.offline,
            OfflineProvider.name,
            OfflineProvider.model,
            latency_ms=_ms_since(started),
            fallback=reason,
            failure=failure,
        )


def cost_usd(tokens_in: int, tokens_out: int) -> Decimal:
    per_token_in = settings.LEVQOR_AI_USD_PER_MTOK_IN / 1_000_000
    per_token_out = settings.LEVQOR_AI_USD_PER_MTOK_OUT / 1_000_000
    return (tokens_in * per_token_in + tokens_out * per_token_out).quantize(Decimal("0.000001"))


MAX_ANSWER_CHARS = 4000
MAX_STEP_CHARS = 500
MAX_STEPS = 10


def parse_answer(text: str, *, task: str) -> Answer | None:
    """The model's JSON reply as an Answer, or None if it is not usable: not
    JSON, the wrong shape, or (for a workflow) a draft the API would refuse."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("answer"), str) or not data["answer"].strip():
        return None
    steps = data.get("steps", [])
    if not isinstance(steps, list) or not all(isinstance(step, str) for step in steps):
        return None
    draft = None
    if task == "workflow":
        draft = data.get("draft")
        if not isinstance(draft, dict) or drafts.draft_errors(draft):
            return None
    return Answer(
        data["answer"].strip()[:MAX_ANSWER_CHARS],
        tuple(step.strip()[:MAX_STEP_CHARS] for step in steps[:MAX_STEPS] if step.strip()),
        draft,
    )


def _ms_since(started: float) -> int:
    return max(0, int((time.monotonic() - started) * 1000))


PROVIDERS = {"offline": OfflineProvider, "anthropic": AnthropicProvider}


def provider_get() -> Provider:
    """The configured provider (settings.LEVQOR_AI_PROVIDER)."""
    choice = settings.LEVQOR_AI_PROVIDER
    cls = PROVIDERS.get(choice) or import_string(choice)
    return cls()
