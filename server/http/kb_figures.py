"""How the knowledge base is doing, for the console's Knowledge area (under /console/api/kb):
an article's figures and the conversations behind them, and a brand's content gaps.

An article's figures answer whoever reads the article (any role in its brand; admins); the
conversations behind them are only those the caller may open. The content gaps quote
customers' questions, and tell writers what to write: they answer the brand's editors and
supervisors, and admins (another role there: 403; none: 404).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.http.inputs import path_value, query_value, services
from server.http.kb_access import WRITERS, knowledge_base, readable
from server.http.kb_search import BRAND, LANGUAGE
from server.http.responses import JSON
from server.pipeline.bot import kb_policy
from server.services.kb_gaps import ContentGaps
from server.store import kb_stats
from server.store.kb_stats import NO_FIGURES, Figures
from web_console import access
from web_console.port import Agent
from web_console.requests import current_agent

CONVERSATIONS = 50


def figures_view(f: Figures) -> dict[str, int | float | None]:
    """The figures as the API gives them; a rate is None before any conversation."""
    return {
        "views": f.views,
        "shown_by_bot": f.shown_by_bot,
        "suggested_to_agent": f.suggested_to_agent,
        "sent_by_agent": f.sent_by_agent,
        "conversations": f.conversations,
        "resolved": f.resolved,
        "not_helpful": f.not_helpful,
        "resolution_rate": round(f.resolved / f.conversations, 3) if f.conversations else None,
        "not_helpful_rate": round(f.not_helpful / f.conversations, 3) if f.conversations else None,
    }


def _iso(at: datetime) -> str:
    return at.isoformat()


async def article_figures(request: Request) -> Response:
    """
    summary: An article's figures and the conversations behind them
    description: >
      Views (shown by the bot, suggested to an agent, sent by one), the conversations it was
      used in, how many it resolved and was "not helpful" in, and their rates over those
      conversations. `used_in` lists the latest 50 of those conversations that you may open;
      `hidden` counts the others.
    responses:
      200: {description: "figures, used_in, hidden"}
      401: {description: not logged in}
      404: {description: no such article in a brand you hold a role in}
    """
    agent = await current_agent(request)
    article = await readable(request, agent)
    async with services(request).pool.acquire() as conn:
        figures = (await kb_stats.figures(conn, [article.id])).get(article.id, NO_FIGURES)
        used, hidden = await kb_stats.used_in(conn, article.id, access.reach(agent), CONVERSATIONS)
    return JSON(
        {
            "figures": figures_view(figures),
            "used_in": [
                {
                    "conversation_id": str(u.conversation_id),
                    "subject": u.subject,
                    "contact": u.contact,
                    "status": u.status,
                    "kinds": u.kinds,
                    "outcome": u.outcome,
                    "outcome_source": u.outcome_source,
                    "at": _iso(u.at),
                }
                for u in used
            ],
            "hidden": hidden,
        }
    )


async def _writer_brand(request: Request, agent: Agent) -> UUID:
    brand = path_value(request, "brand")
    kb = knowledge_base(request)
    brand_id = await kb.brand_id(brand) if BRAND.match(brand) else None
    held = agent.roles.get(str(brand_id), frozenset()) if brand_id else frozenset()
    if brand_id is None or not (agent.admin or held):
        raise HTTPException(404, f"no brand {brand!r}")
    if not agent.admin and not held & WRITERS:
        raise HTTPException(403, "the content gaps are for the brand's editors and supervisors")
    return brand_id


async def content_gaps(request: Request) -> Response:
    """
    summary: A brand's content gaps - questions no article answers well, grouped
    description: >
      The customer questions of the brand's conversations handed over because no article or
      intent answered (kb_not_helpful, kb_no_answer, out_of_scope) or where an article was
      "not helpful", that no published article comes close to now (under the bot's
      similarity threshold for their language), grouped by the similarity of their message
      embeddings; largest group first, each with its count, up to three examples (the most
      typical first) and why they were handed over.
    parameters:
      - {name: lang, in: query, schema: {type: string}, description: one language only}
    responses:
      200: {description: "gaps: count, language, question, examples, reasons, latest"}
      401: {description: not logged in}
      403: {description: only the brand's editors and supervisors, and admins}
      404: {description: no such brand among yours}
      422: {description: lang is not a language code}
    """
    agent = await current_agent(request)
    brand_id = await _writer_brand(request, agent)
    lang = query_value(request, "lang") or None
    if lang is not None and not LANGUAGE.match(lang):
        raise HTTPException(422, "lang: a two- or three-letter language code (en, fr)")
    found = services(request)
    assert found.kb is not None  # _writer_brand checked
    gaps = await ContentGaps(found.pool, found.kb.model, kb_policy(found.settings)).of_brand(
        brand_id, lang
    )
    return JSON(
        {
            "gaps": [
                {
                    "count": g.count,
                    "language": g.language,
                    "question": g.question,
                    "examples": [
                        {
                            "text": e.text,
                            "conversation_id": str(e.conversation_id),
                            "at": _iso(e.at),
                        }
                        for e in g.examples
                    ],
                    "reasons": g.reasons,
                    "latest": _iso(g.latest),
                }
                for g in gaps
            ]
        }
    )


routes = [
    Route("/api/kb/articles/{id}/figures", article_figures, methods=["GET"]),
    Route("/api/kb/brands/{brand}/gaps", content_gaps, methods=["GET"]),
]
