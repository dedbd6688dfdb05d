"""Stand-in model providers for tests: they follow the provider interface
(levqor.assist.providers.Provider) without any network."""

from decimal import Decimal

from levqor.assist.providers import Answer, Reply

SEEN: list = []


class FakeLlm:
    """Answers every prompt with a fixed text, costed as 100 tokens in and 20 out."""

    name = "fake-llm"
    model = "fake-1"

    def reply(self, prompt):
        SEEN.append(prompt)
        draft = prompt.offline.draft
        answer = Answer(f"fake answer to a {prompt.task} question", ("fake step",), draft)
        return Reply(
            answer, self.name, self.model, latency_ms=7, tokens_in=100, tokens_out=20, cost_usd=Decimal("0.0002")
        )


class BrokenLlm:
    name = "broken"
    model = "broken-1"

    def reply(self, prompt):
        raise AssertionError("a refused input must never reach a provider")
