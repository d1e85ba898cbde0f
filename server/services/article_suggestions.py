"""Articles for the conversation an agent has open: the knowledge base searched with the
customer's latest messages, in the conversation's brand and language, published articles
only (what the customer can open). The context panel lists them and the suggested replies
take the best one; an agent then inserts one, sends it, or marks that it resolved the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from routing.knowledge import KbPolicy
from server.services import kb_markdown
from server.services.kb import KnowledgeBase
from server.store import Pool, kb_stats

COUNT = 3
# The customer's latest messages the search reads: what the conversation is about now.
TURNS = 3
# "This article should help", per language, before a suggested reply's link.
LEADS = {
    "en": "This article should help:",
    "fr": "Cet article devrait vous aider :",
}


@dataclass(frozen=True, slots=True)
class SuggestedArticle:
    """An article that may answer the conversation, with what an agent inserts: its
    absolute link (the customer's channel needs one) and a short passage."""

    article_id: UUID
    title: str
    url: str
    excerpt: str
    passage: str
    similarity: float | None


@dataclass(frozen=True, slots=True)
class Found:
    brand_id: UUID
    brand: str
    language: str
    articles: list[SuggestedArticle]


class ArticleSuggestions:
    def __init__(
        self, pool: Pool, kb: KnowledgeBase, base_url: str, policy: KbPolicy | None = None
    ) -> None:
        self._pool = pool
        self._kb = kb
        self._base_url = base_url.rstrip("/")
        self._policy = policy or KbPolicy()

    async def for_conversation(self, conversation_id: UUID) -> Found | None:
        """The articles that clear the bot's similarity threshold for the conversation's
        language, best first (None for a conversation that does not exist)."""
        async with self._pool.acquire() as conn:
            scope = await kb_stats.conversation_scope(conn, conversation_id)
            lines = await kb_stats.customer_lines(conn, conversation_id, TURNS)
        if scope is None:
            return None
        language = scope.language or "en"
        found = Found(scope.brand_id, scope.brand, language, [])
        if not lines:
            return found
        # Oldest first, as the customer wrote them.
        hits = await self._kb.search(scope.brand, language, "\n".join(reversed(lines)), limit=10)
        floor = self._policy.min_similarity.get(language, self._policy.default_similarity)
        for hit in hits:
            if hit.similarity is None or hit.similarity < floor:
                continue
            article = hit.article
            path = f"/help/{scope.brand}/{article.language}/{article.slug}"
            found.articles.append(
                SuggestedArticle(
                    article_id=article.id,
                    title=article.title,
                    url=f"{self._base_url}{path}",
                    excerpt=kb_markdown.excerpt(article.body),
                    passage=hit.passage,
                    similarity=round(hit.similarity, 3),
                )
            )
            if len(found.articles) == COUNT:
                break
        return found


def reply_text(article: SuggestedArticle, language: str) -> str:
    """The suggested reply an article makes: a lead-in, its title and its link."""
    lead = LEADS.get(language, LEADS["en"])
    return f"{lead} {article.title}\n{article.url}"
