"""Suggested replies for the conversation an agent opens: up to three texts to start from,
each saying where it came from.

1. the bot's answer (the project's response) to the latest intent it recognised that has
   one (nlu/responses.py);
2. the agent replies that followed the most similar customer messages in the brand's
   resolved conversations the agent may see (pgvector, server/store/embeddings.py);
3. the knowledge base's best article for the customer's latest messages (its title and
   link, server/services/article_suggestions.py), when one clears the bot's threshold: it
   keeps a place, the similar replies taking the others;
4. a language model's drafts (SWITCHBOARD_LLM_URL, server/services/summaries.py) in the
   places the others left empty, when the model has answered for this version of the
   conversation (``with_drafts``: nobody waits on the model here).

Each is in the customer's language (the bot's variation for it; past replies answered in
it) and, when the customer is upset (their latest message, or their last few on average, at
or below the negative threshold), opens with an apology unless it already has one. Nothing
is sent: the console puts the text in the reply box to edit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict
from uuid import UUID

import structlog

from nlu.project import ProjectError, load_project
from nlu.responses import BotAnswers
from server.services.article_suggestions import ArticleSuggestions, reply_text
from server.services.embedder import Embedder
from server.store import Pool
from server.store import embeddings as store
from web_console.access import Reach

log = structlog.get_logger(__name__)

COUNT = 3
# The customer's messages the look-up reads: the latest ones say what the conversation is
# about now.
TURNS = 3
# Below this cosine similarity a past message is not "similar". bench/embeddings.py, WordLlama
# over the NLU examples: a nearest neighbour of the same intent scores 0.65 (median), one of
# another intent 0.54; the cut keeps most of the first, and the order (nearest first) and the
# similarity shown to the agent do the rest.
MIN_SIMILARITY = 0.5
APOLOGIES = {
    "en": "I'm sorry for the trouble, and thank you for your patience.",
    "fr": "Je suis désolé pour ce désagrément, et merci de votre patience.",
}
_APOLOGISING = re.compile(r"\b(sorry|apologi[sz]e|désolée?|excuse)", re.IGNORECASE)

Source = Literal["bot", "similar", "article", "llm"]


class SuggestionView(TypedDict):
    """One suggested reply and where it came from."""

    text: str
    source: Source
    # The intent the bot recognised and its response's name (source "bot").
    intent: str | None
    response: str | None
    # The past conversation the reply resolved, who wrote it, how close its customer's
    # message was to this one's (source "similar").
    conversation_id: str | None
    agent_name: str | None
    similarity: float | None
    # The knowledge-base article it links to (source "article").
    article_id: str | None
    # What was changed to fit this customer: "apology" when one was put first, and that
    # opening sentence (None when nothing was added), so a console can show it apart.
    adapted: list[str]
    opening: str | None


class SuggestionsView(TypedDict):
    suggestions: list[SuggestionView]
    language: str
    tone: Literal["negative", "neutral"]


@dataclass(frozen=True, slots=True)
class Tone:
    negative: bool
    language: str


class Suggestions:
    def __init__(
        self,
        pool: Pool,
        embedder: Embedder,
        answers: BotAnswers | None,
        negative_at: float,
        *,
        articles: ArticleSuggestions | None = None,
    ) -> None:
        self._pool = pool
        self._embedder = embedder
        self._answers = answers
        self._negative_at = negative_at
        self._articles = articles

    async def for_conversation(self, conversation_id: UUID, reach: Reach) -> SuggestionsView:
        """The suggestions for a conversation the caller has checked the agent may see."""
        async with self._pool.acquire() as conn:
            opened = await store.opened(conn, conversation_id, TURNS)
        tone = self._tone(opened)
        found: list[SuggestionView] = []
        bot = self._bot_answer(opened, tone)
        if bot is not None:
            found.append(bot)
        article = await self._article(conversation_id, tone)
        # The article keeps its place: similar replies fill the others.
        room = COUNT - (1 if article is not None else 0)
        if opened.turns:
            query = "\n".join(t.text for t in reversed(opened.turns))
            vector = await self._embedder.vector(query)
            async with self._pool.acquire() as conn:
                replies = await store.similar_replies(
                    conn,
                    conversation_id,
                    opened.brand_id,
                    self._embedder.model,
                    vector,
                    reach,
                    limit=20,
                )
            taken = {_key(s["text"]) for s in found}
            for reply in replies:
                if len(found) >= room:
                    break
                if reply.similarity < MIN_SIMILARITY or _key(reply.text) in taken:
                    continue
                if reply.language is not None and reply.language != tone.language:
                    continue  # answered in another language: no use to this customer
                text, adapted, opening = adapt(reply.text, tone)
                taken.add(_key(reply.text))
                found.append(
                    SuggestionView(
                        text=text,
                        source="similar",
                        intent=None,
                        response=None,
                        conversation_id=reply.conversation_id,
                        agent_name=reply.agent_name,
                        similarity=round(reply.similarity, 3),
                        article_id=None,
                        adapted=adapted,
                        opening=opening,
                    )
                )
        if article is not None:
            found.append(article)
        return SuggestionsView(
            suggestions=found,
            language=tone.language,
            tone="negative" if tone.negative else "neutral",
        )

    def _tone(self, opened: store.Opened) -> Tone:
        scores = [t.sentiment for t in opened.turns if t.sentiment is not None]
        negative = bool(scores) and (
            scores[0] <= self._negative_at or sum(scores) / len(scores) <= self._negative_at
        )
        language = opened.language or next((t.language for t in opened.turns if t.language), "en")
        return Tone(negative, language)

    def _bot_answer(self, opened: store.Opened, tone: Tone) -> SuggestionView | None:
        if self._answers is None:
            return None
        for turn in opened.turns:
            if turn.intent is None:
                continue
            answer = self._answers.answer(turn.intent, tone.language)
            if answer is not None:
                text, adapted, opening = adapt(answer.text, tone)
                return SuggestionView(
                    text=text,
                    source="bot",
                    intent=answer.intent,
                    response=answer.response,
                    conversation_id=None,
                    agent_name=None,
                    similarity=None,
                    article_id=None,
                    adapted=adapted,
                    opening=opening,
                )
        return None

    async def _article(self, conversation_id: UUID, tone: Tone) -> SuggestionView | None:
        if self._articles is None:
            return None
        found = await self._articles.for_conversation(conversation_id)
        if found is None or not found.articles:
            return None
        best = found.articles[0]
        text, adapted, opening = adapt(reply_text(best, found.language), tone)
        return SuggestionView(
            text=text,
            source="article",
            intent=None,
            response=None,
            conversation_id=None,
            agent_name=None,
            similarity=best.similarity,
            article_id=str(best.article_id),
            adapted=adapted,
            opening=opening,
        )


def bot_answers(project: Path) -> BotAnswers | None:
    """The bot project's answers; None (and a warning) when it cannot be read: the server
    runs without a bot (SWITCHBOARD_NLU_ENGINE=none) whatever that folder holds, and its
    suggestions then come from past conversations alone."""
    try:
        return BotAnswers(load_project(project))
    except ProjectError as exc:
        log.warning("suggestions without the bot's answers", reason=str(exc))
        return None


def adapt(text: str, tone: Tone) -> tuple[str, list[str], str | None]:
    """The text for this customer, what was changed and the opening added: an apology first
    when they are upset and the text has none (only in a language we have one in)."""
    apology = APOLOGIES.get(tone.language)
    if tone.negative and apology is not None and not _APOLOGISING.search(text):
        return f"{apology} {text}", ["apology"], apology
    return text, [], None


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def with_drafts(view: SuggestionsView, drafts: Sequence[str]) -> SuggestionsView:
    """The suggestions with a language model's drafts in the places left (up to COUNT),
    skipping any that repeats one already there. The model was asked for the customer's
    language and tone, so a draft is taken as it is."""
    found = list(view["suggestions"])
    taken = {_key(s["text"]) for s in found}
    for text in drafts:
        if len(found) >= COUNT:
            break
        if _key(text) in taken:
            continue
        taken.add(_key(text))
        found.append(
            SuggestionView(
                text=text,
                source="llm",
                intent=None,
                response=None,
                conversation_id=None,
                agent_name=None,
                similarity=None,
                article_id=None,
                adapted=[],
                opening=None,
            )
        )
    return SuggestionsView(suggestions=found, language=view["language"], tone=view["tone"])
