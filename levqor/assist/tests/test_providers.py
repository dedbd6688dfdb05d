"""The provider interface: a fake model provider plugged in by setting, and
the Anthropic provider driven through the real SDK against a local stand-in
for the Messages API (answers, bad answers, outages and timeouts)."""

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from levqor.assist import briefs, providers
from levqor.assist.models import AiCall

from . import fakes

pytestmark = pytest.mark.django_db


def test_a_configured_provider_answers_and_its_cost_is_counted(api, settings):
    settings.LEVQOR_AI_PROVIDER = "levqor.assist.tests.fakes.FakeLlm"
    fakes.SEEN.clear()

    body = api.post("/api/ai/chat", {"query": "How do I rotate an API key?"}).json()

    assert body["answer"] == "fake answer to a chat question" and body["steps"] == ["fake step"]
    assert body["meta"] == {"provider": "fake-llm", "model": "fake-1", "latency_ms": 7, "fallback": None}
    prompt = fakes.SEEN[-1]
    assert prompt.question == "How do I rotate an API key?"
    assert prompt.facts["passages"][0]["title"] == "API keys, rotation and revocation"
    call = AiCall.objects.get()
    assert (call.provider, call.tokens_in, call.tokens_out, call.cost_usd) == ("fake-llm", 100, 20, Decimal("0.0002"))


class MessagesApi(BaseHTTPRequestHandler):
    """Answers POST /v1/messages the way Anthropic's Messages API does."""

    reply_text = ""
    status = 200
    delay = 0.0
    requests: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "key": self.headers.get("x-api-key") or self.headers.get("authorization"), "body": body}
        )
        time.sleep(self.delay)
        if self.status != 200:
            payload = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        else:
            payload = {
                "id": "msg_01",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": self.reply_text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 1200, "output_tokens": 300},
            }
        data = json.dumps(payload).encode()
        try:
            self.send_response(self.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)

    def log_message(self, *args):
        pass


@pytest.fixture
def messages_api(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), MessagesApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    MessagesApi.requests = []
    MessagesApi.status, MessagesApi.delay = 200, 0.0
    MessagesApi.reply_text = json.dumps({"answer": "Rotate it on /account/api-keys.", "steps": ["Open the page"]})
    settings.LEVQOR_AI_PROVIDER = "anthropic"
    settings.LEVQOR_AI_ANTHROPIC_API_KEY = "sk-ant-test-key"
    settings.LEVQOR_AI_ANTHROPIC_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    settings.LEVQOR_AI_MODEL = "claude-haiku-4-5"
    settings.LEVQOR_AI_USD_PER_MTOK_IN = Decimal("1.00")
    settings.LEVQOR_AI_USD_PER_MTOK_OUT = Decimal("5.00")
    yield MessagesApi
    server.shutdown()
    server.server_close()


def test_the_anthropic_provider_asks_through_the_sdk_and_counts_the_cost(api, messages_api):
    body = api.post("/api/ai/chat", {"query": "How do I rotate an API key?"}).json()

    assert body["answer"] == "Rotate it on /account/api-keys." and body["steps"] == ["Open the page"]
    assert body["meta"]["provider"] == "anthropic" and body["meta"]["model"] == "claude-haiku-4-5"
    sent = messages_api.requests[-1]
    assert sent["path"] == "/v1/messages" and sent["key"].endswith("sk-ant-test-key")
    assert "How do I rotate an API key?" in sent["body"]["messages"][0]["content"]
    call = AiCall.objects.get()
    # 1,200 tokens in at $1/M + 300 out at $5/M
    assert (call.tokens_in, call.tokens_out, call.cost_usd) == (1200, 300, Decimal("0.002700"))


def test_a_model_draft_is_used_only_if_the_workflows_api_would_accept_it(api, messages_api):
    good = {
        "name": "Greeter",
        "description": "",
        "input_schema": {},
        "steps": [{"type": "transform", "name": "hi", "set": {"a": "b"}}],
    }
    messages_api.reply_text = json.dumps({"answer": "A greeter.", "steps": [], "draft": good})
    assert api.post("/api/ai/workflow", {"description": "greet people"}).json()["draft"] == good

    bad = {**good, "steps": [{"type": "teleport", "name": "x"}]}
    messages_api.reply_text = json.dumps({"answer": "A teleporter.", "steps": [], "draft": bad})
    body = api.post("/api/ai/workflow", {"description": "greet people"}).json()

    assert body["meta"]["provider"] == "offline" and body["meta"]["fallback"] == "invalid"
    assert body["draft"]["steps"][0]["type"] == "require"
    assert AiCall.objects.filter(outcome="fallback").get().cost_usd == Decimal("0.002700")  # tokens were still spent


def test_an_outage_falls_back_to_the_offline_answer(api, messages_api):
    messages_api.status = 529

    body = api.post("/api/ai/chat", {"query": "How do I rotate an API key?"}).json()

    assert body["meta"]["provider"] == "offline" and body["meta"]["fallback"] == "error"
    assert "overlap" in body["answer"]
    assert AiCall.objects.get().failure.endswith("Error")


@pytest.mark.realtime
def test_a_slow_provider_is_cut_off_at_the_time_limit(api, messages_api, settings):
    settings.LEVQOR_AI_TIMEOUT_SECONDS = 1
    messages_api.delay = 3

    body = api.post("/api/ai/onboarding").json()

    assert body["meta"]["fallback"] == "timeout" and body["meta"]["provider"] == "offline"
    assert len(messages_api.requests) == 1  # no retries


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"answer": ""}',
        '{"answer": "x", "steps": "one"}',
        '{"answer": 3}',
        "{",
        '{"answer": "x", "steps": [1]}',
    ],
)
def test_unusable_model_replies_are_refused(text):
    assert providers.parse_answer(text, task="chat") is None


def test_the_offline_provider_is_the_default_and_deterministic(settings, customer_account):
    assert settings.LEVQOR_AI_PROVIDER == "offline"
    prompt = briefs.chat(query="What does quota_exceeded mean?", context={})

    first, second = providers.provider_get().reply(prompt), providers.provider_get().reply(prompt)

    assert first.answer == second.answer and first.cost_usd == 0
    assert "reset" in first.answer.answer
