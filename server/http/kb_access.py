"""Who may read and write a knowledge-base article from the console (docs/access.md), shared
by the console's knowledge-base routes (kb_editor.py, kb_figures.py): anyone holding a role in
an article's brand reads it, its editors and supervisors (and admins) write it, and an
article of a brand where the caller holds no role is a 404, as a conversation is.
"""

from __future__ import annotations

from uuid import UUID

from starlette.exceptions import HTTPException
from starlette.requests import Request

from server.errors import NotFound
from server.http.inputs import services
from server.services.kb import KnowledgeBase
from server.store.kb import Article
from web_console.port import Agent

WRITERS = frozenset({"editor", "supervisor"})


def knowledge_base(request: Request) -> KnowledgeBase:
    kb = services(request).kb
    if kb is None:
        raise HTTPException(503, "the knowledge base is not running")
    return kb


def roles(agent: Agent, brand_id: UUID) -> frozenset[str]:
    return agent.roles.get(str(brand_id), frozenset())


async def readable(request: Request, agent: Agent) -> Article:
    """The path's article, when the agent holds a role in its brand; else 404."""
    raw = str(request.path_params["id"])
    try:
        article_id = UUID(raw)
    except ValueError:
        raise HTTPException(404, f"no article {raw!r}") from None
    try:
        article = await knowledge_base(request).get(article_id)
    except NotFound:
        raise HTTPException(404, f"no article {raw!r}") from None
    if not agent.admin and not roles(agent, article.brand_id):
        raise HTTPException(404, f"no article {raw!r}")
    return article


def may_write(agent: Agent, brand_id: UUID) -> None:
    if not agent.admin and not (roles(agent, brand_id) & WRITERS):
        raise HTTPException(403, "editors and supervisors of the brand write its articles")
