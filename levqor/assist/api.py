"""POST /api/ai/chat, /workflow, /debug and /onboarding.

Key-authenticated like the rest of the API (so each call counts against the
account's monthly quota), and open to a paused account too: asking changes
nothing. Every input is screened for high-risk data before any provider
sees it. Answers share one shape: `{answer, steps, meta}`.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from compliance import screening
from levqor.api.base import AccountApi
from levqor.api.errors import HighRiskData
from levqor.api.models import ApiKey
from levqor.lib.drf.errors import error_responses
from levqor.workflows import selectors as workflow_selectors

from . import briefs, services
from .models import AiCall
from .serializers import (
    AnswerSerializer,
    ChatSerializer,
    DebugSerializer,
    OnboardingSerializer,
    WorkflowAnswerSerializer,
    WorkflowDraftSerializer,
)


class HasKeyAnyBillingState(BasePermission):
    """A valid API key, whatever the account's billing state: asking changes nothing."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)


class AssistApi(AccountApi):
    permission_classes = [HasKeyAnyBillingState]
    pagination_class = None
    kind = ""

    def record(self, **kwargs) -> dict:
        return {
            "account": self.account,
            "sandbox": self.sandbox,
            "key_prefix": self.request.auth.prefix,
            "actor_label": self.principal.audit_label,
            **kwargs,
        }

    def screen(self, inputs) -> None:
        """Refuse high-risk data before a provider sees it; the refusal is recorded and audited."""
        result, block = screening.screen_and_record(
            account=self.account, kind=f"ai_{self.kind}", payload=inputs, actor=None
        )
        if result.blocked:
            services.ai_call_record(
                **self.record(
                    kind=self.kind,
                    outcome=AiCall.Outcome.REFUSED,
                    reply=None,
                    input_chars=services.size_of(inputs),
                )
            )
            raise HighRiskData(message=result.reason, details=screening.refusal_details(result, block))

    def answer(self, prompt, inputs) -> Response:
        asked = services.assist_ask(**self.record(prompt=prompt, inputs=inputs))
        reply = asked.reply
        data = {
            "answer": reply.answer.answer,
            "steps": list(reply.answer.steps),
            "meta": {
                "provider": reply.provider,
                "model": reply.model,
                "latency_ms": reply.latency_ms,
                "fallback": reply.fallback or None,
            },
        }
        if self.kind == "workflow":
            data["draft"] = reply.answer.draft
            return Response(WorkflowAnswerSerializer(data).data)
        return Response(AnswerSerializer(data).data)


ERRORS = error_responses(400, 413, 415, 422)


class ChatApi(AssistApi):
    """Answer a question about using Levqor."""

    kind = "chat"
    serializer_class = ChatSerializer

    @extend_schema(
        operation_id="ai_chat",
        tags=["ai"],
        summary="Ask about using Levqor",
        description="Answers from Levqor's own documentation (endpoints, errors, steps, plans). "
        "`context` may say where the question comes from.",
        request=ChatSerializer,
        responses={200: AnswerSerializer, **ERRORS},
    )
    def post(self, request):
        serializer = ChatSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        inputs = serializer.validated_data
        self.screen(inputs)
        return self.answer(briefs.chat(query=inputs["query"], context=inputs["context"]), inputs)


class WorkflowDraftApi(AssistApi):
    """Draft a workflow from a description; never saved."""

    kind = "workflow"
    serializer_class = WorkflowDraftSerializer

    @extend_schema(
        operation_id="ai_workflow_draft",
        tags=["ai"],
        summary="Draft a workflow from a description (not saved)",
        description="`draft` passes the same checks as POST /api/workflows; review it, then create it yourself.",
        request=WorkflowDraftSerializer,
        responses={200: WorkflowAnswerSerializer, **ERRORS},
    )
    def post(self, request):
        serializer = WorkflowDraftSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        inputs = serializer.validated_data
        self.screen(inputs)
        return self.answer(briefs.workflow(description=inputs["description"], name=inputs["name"]), inputs)


class DebugApi(AssistApi):
    """Likely cause and next steps for a failed run or an error message."""

    kind = "debug"
    serializer_class = DebugSerializer

    @extend_schema(
        operation_id="ai_debug",
        tags=["ai"],
        summary="Explain a failed run or an error",
        description="Send `run_id` (a run this key can read: its logs and step types are used) or `error` "
        "(with optional `context`).",
        request=DebugSerializer,
        responses={200: AnswerSerializer, **error_responses(400, 404, 413, 415, 422)},
    )
    def post(self, request):
        serializer = DebugSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        inputs = serializer.validated_data
        self.screen(inputs)
        if "run_id" in inputs:
            run = workflow_selectors.run_get(account=self.account, sandbox=self.sandbox, run_id=inputs["run_id"])
            if run is None:
                raise NotFound("No such run for this key.")
            return self.answer(briefs.debug_run(run=run), inputs)
        return self.answer(briefs.debug_error(error=inputs["error"], context=inputs["context"]), inputs)


class OnboardingApi(AssistApi):
    """The account's next setup steps, from its real state."""

    kind = "onboarding"
    serializer_class = OnboardingSerializer

    @extend_schema(
        operation_id="ai_onboarding",
        tags=["ai"],
        summary="Your next setup steps",
        description="Reads the account's keys, workflows, runs, billing state and usage; takes no body.",
        request=OnboardingSerializer,
        responses={200: AnswerSerializer, **error_responses(400, 413, 415)},
    )
    def post(self, request):
        OnboardingSerializer(data=request.data).is_valid(raise_exception=True)
        person = self.request.auth.created_by
        if person is not None and person.account_id != self.account.pk:
            person = None
        return self.answer(briefs.onboarding(account=self.account, user=person), {})
