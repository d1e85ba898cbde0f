"""The Rasa adapter: a running ``rasa run --enable-api`` (and its action server) behind the
Interpreter port.

Understanding is ``POST /model/parse``; answering is the REST channel
(``POST /webhooks/rest/webhook``, sender = the conversation), after setting the ``language``
slot through ``POST /conversations/{id}/tracker/events`` so responses come in the customer's
language. Short timeouts and a circuit breaker keep a sick Rasa from slowing the messaging
server down: any failure is an ``unknown`` interpretation or a handoff, never an exception.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from typing import Any

import httpx
import structlog

from nlu.base import BotMessage, BotTurn, Dialogue, Entity, IntentScore, Interpretation
from nlu.breaker import CircuitBreaker, CircuitOpen
from nlu.project import buttons_of
from nlu.transport import KeepAliveTransport

log = structlog.get_logger(__name__)

KIND = "rasa"
PARSE_TIMEOUT = 2.0
# Answering may run custom actions that call back into Switchboard.
RESPOND_TIMEOUT = 8.0
BOT_UNAVAILABLE = "bot_unavailable"
# Connections kept to Rasa per node. httpcore looks over every pooled connection (a poll of
# each idle socket) for each request, so a pool grown to the routing's 32 workers made each
# call dear: with the chaos harness's traffic, the Rasa client was 39 % of a node's CPU
# (py-spy, 2026-12-06 14:20 UTC), and the nodes fell behind routing 100 messages a second.
# Measured against the fake Rasa (32 callers, 3,000 parses): 2.6 ms of CPU a request with
# httpx's default pool (100), 1.4 ms with 16 (and sniffio installed: pyproject.toml), 1.0
# with 8. Sixteen leaves room for answers that wait on slow custom actions. Since then the
# connections are this package's own (nlu/transport.py): 0.15 ms of CPU a request.
CONNECTIONS = 16


def _proxied(url: str) -> bool:
    """Whether the environment sends requests to ``url`` through a proxy, as httpx reads it
    (the scheme's or ALL_PROXY, unless NO_PROXY names the host)."""
    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


class RasaInterpreter:
    def __init__(
        self,
        url: str,
        languages: frozenset[str],
        *,
        token: str | None = None,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url.rstrip("/")
        self._languages = languages
        # Rasa's token auth reads only the ``token`` query parameter, so the token is in every
        # request's URL; httpx puts that URL in its error messages. Every error we keep, log
        # or report (``/readyz`` is unauthenticated) goes through ``_describe`` first.
        self._params = {"token": token} if token else {}
        self._token = token
        self._breaker = breaker or CircuitBreaker()
        # httpx reads the environment's proxies (HTTP_PROXY, ALL_PROXY, NO_PROXY) only with
        # its own transport: taken when one applies to Rasa's URL, with these limits; ours
        # otherwise (nlu/transport.py), which bounds its own connections.
        if transport is None and not _proxied(self._url):
            transport = KeepAliveTransport(CONNECTIONS)
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        self._client = httpx.AsyncClient(base_url=self._url, transport=transport, limits=limits)
        self._last_error: str | None = None

    @property
    def kind(self) -> str:
        return KIND

    @property
    def languages(self) -> frozenset[str]:
        return self._languages

    @property
    def wants_history(self) -> bool:
        return False  # Rasa's tracker store keeps the conversation (sender = conversation id)

    async def _post(self, path: str, body: Any, limit: float) -> Any:
        self._breaker.check()
        try:
            response = await self._client.post(path, json=body, params=self._params, timeout=limit)
            response.raise_for_status()
            data = response.json()
        except httpx.PoolTimeout as error:
            # All CONNECTIONS busy (answers waiting on slow custom actions): this node's queue,
            # not Rasa failing. Counted as a failure, three of them opened the circuit and sent
            # every conversation to a person while Rasa was well (the review's finding 3).
            self._breaker.unanswered()
            self._last_error = f"{path}: {self._describe(error)}"
            raise
        except (httpx.HTTPError, ValueError) as error:
            self._breaker.failure()
            self._last_error = f"{path}: {self._describe(error)}"
            raise
        self._breaker.success()
        self._last_error = None
        return data

    async def parse(self, text: str) -> Interpretation:
        try:
            data = await self._post("/model/parse", {"text": text}, PARSE_TIMEOUT)
            return interpretation_from_parse(text, data)
        except (httpx.HTTPError, ValueError, KeyError, TypeError, CircuitOpen) as error:
            described = self._describe(error)
            log.warning("rasa parse failed", error=described)
            return Interpretation.unknown(text, KIND, described)

    async def respond(self, dialogue: Dialogue) -> BotTurn:
        sender = dialogue.conversation_id
        try:
            await self._post(
                f"/conversations/{sender}/tracker/events",
                [{"event": "slot", "name": "language", "value": dialogue.language}],
                PARSE_TIMEOUT,
            )
            replies = await self._post(
                "/webhooks/rest/webhook",
                {"sender": sender, "message": dialogue.interpretation.text},
                RESPOND_TIMEOUT,
            )
        except (httpx.HTTPError, ValueError, CircuitOpen) as error:
            described = self._describe(error)
            log.warning("rasa respond failed", error=described)
            return BotTurn(handoff=BOT_UNAVAILABLE, error=described)
        return _turn(replies)

    def _describe(self, error: Exception) -> str:
        """The error for logs and ``/readyz``: its status or kind, never the request's URL
        (which carries the token) and never the token itself."""
        if isinstance(error, httpx.HTTPStatusError):
            return f"HTTPStatusError: Rasa answered {error.response.status_code}"
        text = f"{type(error).__name__}: {error}"
        if self._token:
            text = text.replace(self._token, "***")
        return text

    def state(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "url": self._url,
            "circuit": self._breaker.state,
            "languages": sorted(self._languages),
            "error": self._last_error,
        }

    async def close(self) -> None:
        await self._client.aclose()


def interpretation_from_parse(text: str, data: dict[str, Any]) -> Interpretation:
    """What Rasa's /model/parse answer says, as an Interpretation."""
    intent = data.get("intent") or {}
    name = str(intent.get("name") or "nlu_fallback")
    # A ResponseSelector trained for one retrieval intent answers under its name; one for
    # all of them (Rasa's default) under "default".
    selectors = data.get("response_selector") or {}
    selector = selectors.get(name) or selectors.get("default") or {}
    key = (selector.get("response") or {}).get("intent_response_key")
    return Interpretation(
        text=text,
        intent=name,
        retrieval_intent=str(key) if isinstance(key, str) and key.startswith(f"{name}/") else None,
        confidence=float(intent.get("confidence") or 0.0),
        ranking=tuple(
            IntentScore(str(r["name"]), float(r["confidence"]))
            for r in data.get("intent_ranking") or []
        ),
        entities=tuple(
            Entity(
                entity=str(e["entity"]),
                value=str(e.get("value")),
                start=int(e.get("start", 0)),
                end=int(e.get("end", 0)),
                text=text[int(e.get("start", 0)) : int(e.get("end", 0))],
                extractor=str(e.get("extractor") or ""),
                role=str(e["role"]) if e.get("role") else None,
                group=str(e["group"]) if e.get("group") else None,
            )
            for e in data.get("entities") or []
        ),
        engine=KIND,
    )


def _turn(replies: Any) -> BotTurn:
    """The REST channel's answer: texts, and custom payloads, one of which may ask for a
    human (``{"handoff": reason}``, sent by the project's ``action_handoff``)."""
    if not isinstance(replies, list):
        return BotTurn(handoff=BOT_UNAVAILABLE, error=f"unexpected answer {replies!r:.200}")
    messages: list[BotMessage] = []
    handoff = None
    for reply in replies:
        if not isinstance(reply, dict):
            continue
        custom = reply.get("custom")
        if isinstance(custom, dict) and "handoff" in custom:
            handoff = str(custom["handoff"] or "bot_requested")
            continue
        text = reply.get("text")
        buttons = buttons_of(reply.get("buttons"))
        image = reply.get("image")
        if text is not None or custom is not None or buttons or image:
            messages.append(
                BotMessage(
                    str(text) if text is not None else None,
                    "rasa",
                    custom if isinstance(custom, dict) else None,
                    buttons=buttons,
                    image=str(image) if image else None,
                )
            )
    return BotTurn(tuple(messages), handoff)
