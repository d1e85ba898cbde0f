"""A client of any OpenAI-compatible chat-completions endpoint (OpenAI, a local vLLM, Ollama,
llama.cpp's server): ``POST {url}/chat/completions`` with ``model`` and ``messages``, the
answer read from ``choices[0].message.content``.

It is optional (SWITCHBOARD_LLM_URL) and never on a path that must answer: every call has a
total deadline, the answer's size is bounded, and a circuit breaker stops calling an endpoint
that keeps failing. Any failure is ``LlmUnavailable``; callers fall back to what they can do
without a model.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Literal, TypedDict

import httpx
import structlog

from nlu.breaker import CircuitBreaker, CircuitOpen

log = structlog.get_logger(__name__)

# An answer of a few drafts and a paragraph is a few kilobytes; anything past this is not one.
MAX_ANSWER_BYTES = 256 * 1024


class LlmUnavailable(Exception):
    """The model could not answer usefully: unreachable, too slow, an error status, or an
    answer that is not the documented JSON."""


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatModel:
    """One chat-completions endpoint and model."""

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 8.0,
        max_tokens: int = 600,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.model = model
        self._endpoint = url.rstrip("/") + "/chat/completions"
        self._timeout = timeout
        self._max_tokens = max_tokens
        self._breaker = breaker or CircuitBreaker(threshold=3, cooldown=30.0)
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            headers=headers, timeout=httpx.Timeout(timeout), transport=transport
        )

    async def complete(self, messages: Sequence[ChatMessage], *, json_answer: bool = True) -> str:
        """The assistant's answer (``choices[0].message.content``); LlmUnavailable on any
        failure, within the timeout whatever the endpoint does."""
        try:
            self._breaker.check()
        except CircuitOpen as exc:
            raise LlmUnavailable(str(exc)) from None
        body: dict[str, object] = {
            "model": self.model,
            "messages": list(messages),
            "temperature": 0.2,
            "max_tokens": self._max_tokens,
            "stream": False,
        }
        if json_answer:
            # OpenAI's JSON mode, which vLLM and Ollama's OpenAI-compatible API also take.
            body["response_format"] = {"type": "json_object"}
        try:
            # httpx's timeout is per read; a server dripping bytes is held to the total too.
            async with asyncio.timeout(self._timeout):
                content = await self._post(body)
        except (TimeoutError, httpx.HTTPError, LlmUnavailable) as exc:
            self._breaker.failure()
            reason = (
                "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
            )
            # The host only: a URL may carry credentials (https://user:key@host/v1).
            host = httpx.URL(self._endpoint).host
            log.warning("llm unavailable", host=host, reason=reason)
            raise LlmUnavailable(reason) from None
        self._breaker.success()
        return content

    async def _post(self, body: dict[str, object]) -> str:
        async with self._http.stream("POST", self._endpoint, json=body) as response:
            if response.status_code != 200:
                raise LlmUnavailable(f"the endpoint answered {response.status_code}")
            raw = bytearray()
            async for chunk in response.aiter_bytes():
                raw += chunk
                if len(raw) > MAX_ANSWER_BYTES:
                    raise LlmUnavailable("the answer is too large")
        return content_of(bytes(raw))

    async def close(self) -> None:
        await self._http.aclose()


def content_of(raw: bytes) -> str:
    """``choices[0].message.content`` of a chat-completions answer; LlmUnavailable for any
    other shape."""
    try:
        data = json.loads(raw)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LlmUnavailable("the answer is not a chat completion") from None
    if not isinstance(content, str) or not content.strip():
        raise LlmUnavailable("the answer has no content")
    return content
