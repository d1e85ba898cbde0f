"""The bot's knowledge-base step in the pipeline (issue 18; the decisions are
``routing.knowledge``'s, pure): after the engine's interpretation and ``routing.decide``,
when the bot has nothing of its own to say, search the brand's published articles in the
customer's language and answer with them, ask once to rephrase, or hand over; and read the
customer's next message as their verdict on the articles shown.

``Knowledge.plan`` does the search (no connection held) and returns a ``Plan``; the decider
stores it: a handoff through its locked path, a message through ``Knowledge.speak`` in one
transaction with the articles' uses and verdicts (server/store/kb_feedback.py).

A brand with no published article in the customer's language is left as it was: the bot's
own not-understood path and handoffs apply, unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from uuid import UUID

from nlu.base import Interpretation
from routing import knowledge
from routing.decision import Decision, Situation
from routing.knowledge import Found, KbAnswer, KbHandoff, KbPolicy, Rephrase
from server import store
from server.events import Event
from server.payloads import KbArticleCard, KbCard
from server.store import ConversationRow, kb_feedback

# The bot messages' meta actions: what the console shows beside them, and what the next
# routing reads back (kb_feedback.asked).
KB_ANSWER = kb_feedback.KB_ANSWER
KB_REPHRASE = "kb_rephrase"
KB_GLAD = "kb_glad"


class ArticleSearch(Protocol):
    """The knowledge base's search as the bot uses it (``server.services.kb.KnowledgeBase``):
    the brand's published articles in the language, best first."""

    async def answers(
        self, brand: str, language: str, question: str, *, limit: int
    ) -> list[Found]: ...


@dataclass(frozen=True, slots=True)
class Plan:
    """What the knowledge-base step does with one message.

    ``answer``: show ``articles``; ``rephrase``: ask once to say it another way; ``glad``:
    the customer said the articles answered; ``handoff``: a person, for ``reason``.
    ``judged`` are the articles the message gave a verdict on (``helpful``, ``source``)."""

    kind: Literal["answer", "rephrase", "glad", "handoff"]
    language: str
    reason: str | None = None
    articles: tuple[Found, ...] = ()
    judged: tuple[UUID, ...] = ()
    helpful: bool | None = None
    source: kb_feedback.Source | None = None

    @property
    def speaks(self) -> bool:
        return self.kind != "handoff"

    def fallbacks(self, situation: Situation) -> int:
        """The not-understood count to store: a rephrase request counts as the bot's
        not-understood answer (so the next miss hands over); articles or thanks reset it."""
        return situation.fallbacks + 1 if self.kind == "rephrase" else 0


class Knowledge:
    """The knowledge-base step's I/O: search, and storing what it says."""

    def __init__(self, search: ArticleSearch, policy: KbPolicy, base_url: str) -> None:
        self._search = search
        self.policy = policy
        self._base_url = base_url.rstrip("/")

    def keeps(
        self, asked: kb_feedback.Asked, decision: Decision, interpretation: Interpretation
    ) -> bool:
        """Whether ``plan`` would keep ``decision`` (None) without searching: no articles
        await a verdict, and the decision is not one the knowledge base is consulted on."""
        return not asked.awaiting and not knowledge.consults(
            decision, interpretation.intent, interpretation.confidence, self.policy
        )

    async def plan(
        self,
        asked: kb_feedback.Asked,
        situation: Situation,
        decision: Decision,
        interpretation: Interpretation,
        language: str | None,
    ) -> Plan | None:
        """What to do with the message instead of ``decision``, or None to keep it."""
        lang = language or "en"
        intent, confidence = interpretation.intent, interpretation.confidence
        if asked.awaiting:
            said = knowledge.verdict(decision, intent, confidence, situation.text, self.policy)
            if said is not None:
                source: kb_feedback.Source = (
                    "customer" if said.source == "customer" else "follow_up"
                )
                handoff = knowledge.after_feedback(said.helpful)
                return Plan(
                    "glad" if handoff is None else "handoff",
                    lang,
                    reason=None if handoff is None else handoff.reason,
                    judged=asked.awaiting,
                    helpful=said.helpful,
                    source=source,
                )
        if not knowledge.consults(decision, intent, confidence, self.policy):
            return None
        hits = await self._search.answers(
            asked.brand, lang, situation.text, limit=self.policy.max_articles
        )
        if not hits:
            return None  # no published article in this language: the bot as before
        outcome = knowledge.step(lang, hits, self.policy, asked_to_rephrase=situation.fallbacks > 0)
        if isinstance(outcome, KbAnswer):
            return Plan("answer", lang, articles=outcome.articles)
        if isinstance(outcome, Rephrase):
            # The bot's own not-understood answer asks already; a handoff the KB stands in
            # for (out of scope) becomes the one request to rephrase.
            return None if decision.action == "bot" else Plan("rephrase", lang)
        assert isinstance(outcome, KbHandoff)
        return Plan("handoff", lang, reason=outcome.reason)

    def card(self, articles: tuple[Found, ...], language: str) -> KbCard:
        """The articles as the widget draws them (links absolute: the widget runs on the
        customer's site)."""
        return KbCard(
            language=language,
            intro=knowledge.intro_text(language),
            ask=knowledge.ask_text(language),
            articles=[
                KbArticleCard(
                    id=f.article_id,
                    title=f.title,
                    url=self._base_url + f.url,
                    excerpt=f.excerpt,
                )
                for f in articles
            ],
        )

    async def speak(
        self,
        conn: store.Conn,
        conv: ConversationRow,
        asked: kb_feedback.Asked,
        plan: Plan,
        say: Callable[[store.Conn, ConversationRow, str, str, dict[str, Any]], Awaitable[Event]],
    ) -> Event:
        """Store the step's message (in the caller's transaction, the conversation locked),
        with the articles' uses or the customer's verdict; returns its event."""
        meta: dict[str, Any]
        if plan.kind == "answer":
            text = knowledge.as_text(KbAnswer(plan.articles), plan.language, self._base_url)
            meta = {"action": KB_ANSWER, "kb": self.card(plan.articles, plan.language)}
        elif plan.kind == "glad":
            text, meta = knowledge.glad_text(plan.language), {"action": KB_GLAD}
        else:
            text, meta = knowledge.rephrase_text(plan.language), {"action": KB_REPHRASE}
        event = await say(conn, conv, "bot", text, meta)
        conversation_id = UUID(conv["id"])
        if plan.kind == "answer":
            ids = [UUID(f.article_id) for f in plan.articles]
            message_id = event.data["message"]["id"]
            await kb_feedback.record_uses(
                conn, asked.brand_id, conversation_id, ids, "shown_by_bot", message_id
            )
        await self.judge(conn, conv, plan)
        return event

    async def judge(self, conn: store.Conn, conv: ConversationRow, plan: Plan) -> None:
        """Record the plan's verdict on the articles it judged, if any."""
        if plan.judged and plan.helpful is not None and plan.source is not None:
            await kb_feedback.judge_shown(
                conn,
                UUID(conv["id"]),
                plan.judged,
                "resolved" if plan.helpful else "not_helpful",
                plan.source,
            )
