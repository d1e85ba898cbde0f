"""The handoff summary an agent reads at the top of the context panel, and the reply drafts
a chat model may add.

Extractive always (``nlu.summary``: pure, instant, nothing leaves the server). Abstractive
only with SWITCHBOARD_LLM_URL: the same transcript is sent to the chat-completions endpoint
(``nlu.llm``, ``nlu.abstract``), and what it says is cached per conversation and transcript
(a new message, or an erasure, makes a new key), so each version of a conversation costs one
call however many agents open it.

Nothing waits on the model longer than ``wait``: the console already shows the extractive
summary (it comes with the context), and asks for this one on the side. A model that is slow,
down, busy or talking nonsense leaves ``llm: "unavailable"`` and the extractive summary; a
call still running when its waiter gives up goes on (within the client's own deadline) so the
next open finds it cached. Failures are remembered for a minute so a sick model is not asked
again on every open (the client's circuit breaker stops it altogether after a few).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Literal, TypedDict
from uuid import UUID

import structlog
from cachetools import LRUCache, TTLCache

from nlu.abstract import Abstract, prompt, read_answer
from nlu.llm import ChatMessage, ChatModel, LlmUnavailable
from nlu.summary import SummaryView, Transcript, summarize
from server.store import Pool
from server.store import summaries as store
from server.store.context import Context

log = structlog.get_logger(__name__)

# Conversations whose abstract is kept: a few hundred summaries are a few hundred kilobytes.
CACHE_SIZE = 512
# Calls to the model at once; past this an open gets the extractive summary only.
MAX_RUNNING = 8
FAILURE_SECONDS = 60.0

LlmState = Literal["off", "ready", "unavailable"]


class AbstractView(TypedDict):
    text: str
    drafts: list[str]
    model: str


class SummaryAnswer(TypedDict):
    """GET /console/api/conversations/{id}/summary."""

    extractive: SummaryView
    # The model's summary and drafts when ``llm`` is "ready".
    abstractive: AbstractView | None
    # "off": no model configured; "unavailable": it failed, was too slow or busy.
    llm: LlmState


class PanelContext(Context):
    """The context panel's data with the extractive summary at its top."""

    summary: SummaryView


class ReplyDraft(TypedDict):
    """A reply the model drafted, for a suggested-replies list to show with its source."""

    text: str
    source: Literal["llm"]
    model: str


class Summaries:
    """Summaries of conversations; ``model`` is None without SWITCHBOARD_LLM_URL."""

    def __init__(self, pool: Pool, model: ChatModel | None, *, wait: float = 10.0) -> None:
        self._pool = pool
        self._model = model
        self._wait = wait
        self._done: LRUCache[str, Abstract] = LRUCache(maxsize=CACHE_SIZE)
        self._failed: TTLCache[str, str] = TTLCache(maxsize=CACHE_SIZE, ttl=FAILURE_SECONDS)
        self._running: dict[str, asyncio.Task[Abstract | None]] = {}

    @property
    def llm(self) -> bool:
        return self._model is not None

    async def extractive(self, conversation_id: UUID) -> SummaryView:
        return await _summarized(await self._transcript(conversation_id))

    async def summary(self, conversation_id: UUID, wait: float | None = None) -> SummaryAnswer:
        """The extractive summary, and the model's when it answers within ``wait`` seconds
        (the configured wait by default). The caller has checked the agent may see it."""
        transcript = await self._transcript(conversation_id)
        extractive = await _summarized(transcript)
        if self._model is None:
            return SummaryAnswer(extractive=extractive, abstractive=None, llm="off")
        found = await self._abstract(transcript, self._wait if wait is None else wait)
        if found is None:
            return SummaryAnswer(extractive=extractive, abstractive=None, llm="unavailable")
        view = AbstractView(text=found.summary, drafts=list(found.drafts), model=self._model.model)
        return SummaryAnswer(extractive=extractive, abstractive=view, llm="ready")

    async def drafts(self, conversation_id: UUID, wait: float = 0.0) -> list[ReplyDraft]:
        """The model's reply drafts for the conversation as it stands, waiting at most
        ``wait`` seconds (0: only what is cached, starting a call for next time). Empty
        without a model or when it failed. For the suggested replies: the caller has checked
        the agent may see the conversation."""
        if self._model is None:
            return []
        found = await self._abstract(await self._transcript(conversation_id), wait)
        if found is None:
            return []
        return [ReplyDraft(text=d, source="llm", model=self._model.model) for d in found.drafts]

    async def close(self) -> None:
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        if self._model is not None:
            await self._model.close()

    async def _transcript(self, conversation_id: UUID) -> Transcript:
        async with self._pool.acquire() as conn:
            return await store.transcript(conn, conversation_id)

    async def _abstract(self, transcript: Transcript, wait: float) -> Abstract | None:
        assert self._model is not None
        asked = prompt(transcript)
        # The key is the prompt itself: the same words make the same answer, and an edit or
        # an erasure of a message is a new key (the old one ages out of the LRU).
        key = hashlib.sha256(
            json.dumps([self._model.model, asked], ensure_ascii=False).encode()
        ).hexdigest()
        if key in self._done:
            return self._done[key]
        if key in self._failed:
            return None
        task = self._running.get(key)
        if task is None:
            if len(self._running) >= MAX_RUNNING:
                log.info("llm busy: extractive summary only", running=len(self._running))
                return None
            task = asyncio.create_task(self._ask(key, asked))
            self._running[key] = task
        if wait <= 0:
            return None
        # shield: a waiter that gives up (or whose request is cancelled) leaves the call
        # running for the next one; the client's own deadline still ends it.
        done, _ = await asyncio.wait({asyncio.shield(task)}, timeout=wait)
        return done.pop().result() if done else None

    async def _ask(self, key: str, asked: list[ChatMessage]) -> Abstract | None:
        assert self._model is not None
        try:
            found = read_answer(await self._model.complete(asked))
            # Cached before it stops running, so no open in between asks again.
            self._done[key] = found
            return found
        except LlmUnavailable as exc:
            self._failed[key] = str(exc)
            log.info("llm summary unavailable", reason=str(exc))
            return None
        finally:
            self._running.pop(key, None)


async def _summarized(transcript: Transcript) -> SummaryView:
    """The extractive summary, off the event loop: its regexes over a long thread (250
    messages) take tens of milliseconds (docs/handoff-summary.md)."""
    return (await asyncio.to_thread(summarize, transcript)).to_json()
