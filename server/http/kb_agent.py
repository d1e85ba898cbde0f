"""The knowledge base beside a conversation, for the agent working it (under /console/api/kb):
the articles suggested for it, an article sent in a reply, and "this article resolved it".

Access is the conversation's (docs/access.md): one the caller may not see is a 404; reading
the suggestions takes a role that reads conversations, and recording (a send, a verdict) one
that works them (403 otherwise). The article must be of the conversation's brand (else 404).
What is recorded goes through server/store/kb_feedback.py, as the bot's records do.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.http.inputs import body, path_value, services
from server.http.responses import JSON
from server.pipeline.bot import kb_policy
from server.services.article_suggestions import ArticleSuggestions
from server.store import kb as kb_store
from server.store import kb_feedback, kb_stats
from server.store.conversations import placements
from web_console import access
from web_console.access import Placement
from web_console.port import Agent
from web_console.requests import reader, worker


class Sent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # A message id is a bigint: anything larger names no message (and Postgres would refuse it).
    message_id: int = Field(
        ge=1, le=2**63 - 1, description="the agent's message that carried the article"
    )


def suggester(request: Request) -> ArticleSuggestions:
    found = services(request)
    if found.kb is None:
        raise HTTPException(503, "the knowledge base is not running")
    return ArticleSuggestions(
        found.pool, found.kb, found.settings.base_url, kb_policy(found.settings)
    )


async def _conversation(request: Request, agent: Agent, *, act: bool) -> tuple[UUID, Placement]:
    raw = path_value(request, "id")
    try:
        conversation_id = UUID(raw)
    except ValueError:
        raise HTTPException(404, f"no conversation {raw}") from None
    key = str(conversation_id)
    async with services(request).pool.acquire() as conn:
        where = (await placements(conn, [key])).get(key)
    if where is None or not access.may_see(agent, where):
        raise HTTPException(404, f"no conversation {raw}")
    if act and not access.may_act(agent, where):
        raise HTTPException(403, "your role in this brand only reads conversations")
    return conversation_id, where


async def _article_of(request: Request, where: Placement) -> UUID:
    raw = path_value(request, "article_id")
    try:
        article_id = UUID(raw)
    except ValueError:
        raise HTTPException(404, f"no article {raw!r}") from None
    async with services(request).pool.acquire() as conn:
        article = await kb_store.article(conn, article_id)
    if article is None or str(article.brand_id) != where.brand_id:
        raise HTTPException(404, f"no article {raw!r}")
    return article_id


async def suggested_articles(request: Request) -> Response:
    """
    summary: Articles that may answer a conversation
    description: >
      The knowledge base searched with the customer's latest messages, in the conversation's
      brand and language: published articles whose best passage clears the bot's similarity
      threshold, best first (up to three), each with its absolute link, an excerpt and the
      passage that matched, and whether it was already marked as having resolved the
      conversation. Shown to someone who works the conversation, each is recorded once as
      suggested to an agent.
    responses:
      200: {description: "brand, language, articles (id, title, url, excerpt, passage, outcome)"}
      401: {description: not logged in}
      403: {description: your roles do not include conversations}
      404: {description: no such conversation}
    """
    agent = await reader(request)
    conversation_id, where = await _conversation(request, agent, act=False)
    found = await suggester(request).for_conversation(conversation_id)
    if found is None:
        raise HTTPException(404, f"no conversation {conversation_id}")
    ids = [a.article_id for a in found.articles]
    async with services(request).pool.acquire() as conn, conn.transaction():
        if access.may_act(agent, where) and ids:
            # Once per article and conversation: the panel re-reads on every new message.
            await kb_stats.hold_suggestions(conn, conversation_id)
            before = await kb_stats.already_suggested(conn, conversation_id, ids)
            new = [i for i in ids if i not in before]
            await kb_feedback.record_uses(
                conn, found.brand_id, conversation_id, new, "suggested_to_agent"
            )
        verdicts = await kb_stats.verdicts(conn, conversation_id)
    return JSON(
        {
            "brand": found.brand,
            "language": found.language,
            "articles": [
                {
                    "id": str(a.article_id),
                    "title": a.title,
                    "url": a.url,
                    "excerpt": a.excerpt,
                    "passage": a.passage,
                    "similarity": a.similarity,
                    "outcome": verdicts.get(a.article_id),
                }
                for a in found.articles
            ],
        }
    )


async def article_sent(request: Request) -> Response:
    """
    summary: An article went to the customer in an agent's reply
    body: Sent
    responses:
      204: {description: recorded}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: your role does not work this conversation}
      404: {description: no such conversation, article of its brand, or agent message in it}
      422: {description: message_id missing or not a number}
    """
    agent = await worker(request)
    conversation_id, where = await _conversation(request, agent, act=True)
    article_id = await _article_of(request, where)
    sent = await body(request, Sent)
    async with services(request).pool.acquire() as conn, conn.transaction():
        if await kb_stats.agent_message(conn, conversation_id, sent.message_id) is None:
            raise HTTPException(404, f"no agent message {sent.message_id} in this conversation")
        await kb_feedback.record_uses(
            conn,
            UUID(where.brand_id),
            conversation_id,
            [article_id],
            "sent_by_agent",
            sent.message_id,
        )
    return Response(status_code=204)


async def article_resolved(request: Request) -> Response:
    """
    summary: This article resolved the conversation (an agent's mark)
    description: >
      Records the outcome "resolved" with source "agent" and who marked it; an agent's mark
      replaces any earlier verdict on the article in this conversation.
    responses:
      200: {description: "outcome: resolved"}
      401: {description: not logged in}
      403: {description: your role does not work this conversation}
      404: {description: no such conversation, or article of its brand}
    """
    agent = await worker(request)
    conversation_id, where = await _conversation(request, agent, act=True)
    article_id = await _article_of(request, where)
    async with services(request).pool.acquire() as conn:
        await kb_feedback.set_outcome(
            conn,
            article_id,
            conversation_id,
            UUID(where.brand_id),
            "resolved",
            "agent",
            UUID(agent.id),
        )
    return JSON({"outcome": "resolved"})


routes = [
    Route("/api/kb/conversations/{id}/articles", suggested_articles, methods=["GET"]),
    Route("/api/kb/conversations/{id}/articles/{article_id}/sent", article_sent, methods=["POST"]),
    Route(
        "/api/kb/conversations/{id}/articles/{article_id}/resolved",
        article_resolved,
        methods=["POST"],
    ),
]
