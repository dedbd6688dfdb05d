"""The assistant's writes: ask the provider, then record the call and its
audit entry together. Only sizes, ids, timings and cost are kept or logged,
never the question or the answer."""

import json
import logging
from dataclasses import dataclass

from django.db import transaction

from compliance import audit
from levqor.accounts.models import Account

from .models import AiCall
from .providers import Prompt, Reply, provider_get

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asked:
    call: AiCall
    reply: Reply


def size_of(value) -> int:
    """Characters in a value as JSON: what the call log keeps instead of the text."""
    if isinstance(value, str):
        return len(value)
    return len(json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":")))


def assist_ask(*, account: Account, sandbox: bool, prompt: Prompt, inputs, key_prefix: str, actor_label: str) -> Asked:
    """Ask the configured provider (outside any transaction: it may go over
    the network), then record the call. One call and one audit row per ask."""
    reply = provider_get().reply(prompt)
    answer = reply.answer
    output_chars = len(answer.answer) + sum(len(step) for step in answer.steps)
    if answer.draft is not None:
        output_chars += size_of(answer.draft)
    call = ai_call_record(
        account=account,
        sandbox=sandbox,
        kind=prompt.task,
        outcome=AiCall.Outcome.FALLBACK if reply.fallback else AiCall.Outcome.ANSWERED,
        reply=reply,
        input_chars=size_of(inputs),
        output_chars=output_chars,
        key_prefix=key_prefix,
        actor_label=actor_label,
    )
    return Asked(call=call, reply=reply)


@transaction.atomic
def ai_call_record(
    *,
    account: Account,
    sandbox: bool,
    kind: str,
    outcome: str,
    reply: Reply | None,
    input_chars: int,
    output_chars: int = 0,
    key_prefix: str,
    actor_label: str,
) -> AiCall:
    """Store one assistant call (sizes only) and audit it. Not idempotent:
    call it once per call."""
    call = AiCall.objects.create(
        account=account,
        key_prefix=key_prefix,
        sandbox=sandbox,
        kind=kind,
        outcome=outcome,
        provider=reply.provider if reply else "",
        model=reply.model if reply else "",
        failure=reply.failure if reply else "",
        input_chars=input_chars,
        output_chars=output_chars,
        tokens_in=reply.tokens_in if reply else 0,
        tokens_out=reply.tokens_out if reply else 0,
        cost_usd=reply.cost_usd if reply else 0,
        latency_ms=reply.latency_ms if reply else 0,
    )
    audit.record(
        actor=None,
        actor_label=actor_label,
        action=f"ai.{kind}",
        target=call,
        details={
            "outcome": outcome,
            "provider": call.provider,
            "model": call.model,
            "fallback": reply.fallback if reply else "",
            "input_chars": input_chars,
            "output_chars": output_chars,
            "latency_ms": call.latency_ms,
            "cost_usd": str(call.cost_usd),
        },
    )
    logger.info(
        "ai call %s kind=%s outcome=%s provider=%s in=%d out=%d ms=%d",
        call.pk,
        kind,
        outcome,
        call.provider or "-",
        input_chars,
        output_chars,
        call.latency_ms,
    )
    return call


@transaction.atomic
def ai_calls_prune(*, before) -> int:
    """Delete call records older than `before` (their audit entries stay). Safe to run twice."""
    deleted, _ = AiCall.objects.filter(created_at__lt=before).delete()
    return deleted
