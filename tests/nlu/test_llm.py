"""The chat-completions client against a local stand-in speaking OpenAI's documented JSON over
real HTTP: an answer is read, and a slow, dead, failing or garbage endpoint is an
LlmUnavailable within the client's deadline, never a hang or another exception."""

from __future__ import annotations

import json

import pytest

from bench.processes import free_port
from nlu.breaker import CircuitBreaker
from nlu.llm import ChatMessage, ChatModel, LlmUnavailable
from tests.nlu.llm_standin import DEFAULT_CONTENT, llm_standin

ASK = [
    ChatMessage(role="system", content="Answer in JSON."),
    ChatMessage(role="user", content="[1] Customer: where is order 10234?"),
]


async def test_the_answer_is_the_first_choices_content_of_the_documented_request() -> None:
    async with llm_standin() as standin:
        model = ChatModel(standin.url, "llama3.2:3b", api_key="sk-local", timeout=5)
        try:
            assert await model.complete(ASK) == DEFAULT_CONTENT
        finally:
            await model.close()
    [sent] = standin.requests
    assert sent["model"] == "llama3.2:3b"
    assert sent["messages"] == ASK
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["stream"] is False
    assert standin.headers[0]["authorization"] == "Bearer sk-local"


@pytest.mark.parametrize("mode", ["slow", "garbage", "error", "empty"])
async def test_a_slow_failing_or_garbage_endpoint_is_unavailable(mode: str) -> None:
    async with llm_standin() as standin:
        standin.mode = "ok" if mode == "empty" else mode
        standin.content = "" if mode == "empty" else standin.content
        # The stand-in in "slow" mode never answers until released: only the deadline ends it.
        model = ChatModel(standin.url, "m", timeout=0.5)
        try:
            with pytest.raises(LlmUnavailable):
                await model.complete(ASK)
        finally:
            await model.close()
        assert len(standin.requests) == 1


async def test_an_unreachable_endpoint_is_unavailable_and_the_breaker_then_stops_calling() -> None:
    # A free port nobody listens on: connection refused.
    model = ChatModel(
        f"http://127.0.0.1:{free_port()}/v1", "m", timeout=2, breaker=CircuitBreaker(2, 60)
    )
    try:
        for _ in range(2):
            with pytest.raises(LlmUnavailable, match=r"ConnectError|refused|connect"):
                await model.complete(ASK)
        with pytest.raises(LlmUnavailable, match="circuit is open"):
            await model.complete(ASK)
    finally:
        await model.close()


async def test_a_too_large_answer_is_refused() -> None:
    async with llm_standin() as standin:
        standin.content = json.dumps({"summary": "x" * 300_000})
        model = ChatModel(standin.url, "m", timeout=5)
        try:
            with pytest.raises(LlmUnavailable, match="too large"):
                await model.complete(ASK)
        finally:
            await model.close()
