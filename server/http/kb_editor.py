"""The console's knowledge-base API under /console/api/kb: articles listed, read, written,
published and deleted, their versions, and a Markdown preview.

Who may do what (docs/access.md): anyone holding a role in a brand reads its articles (agents
link them, the bot answers from them); its editors and supervisors, and admins, write them.
An article of a brand where the caller holds no role is a 404, as a conversation is.
"""

from __future__ import annotations

from typing import Literal, TypedDict
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.http import kb_agent, kb_figures
from server.http.inputs import body, query_value, services
from server.http.kb_access import WRITERS, knowledge_base, may_write, readable, roles
from server.http.kb_figures import figures_view
from server.http.kb_search import BRAND, LANGUAGE
from server.http.responses import JSON
from server.services import kb_markdown
from server.services.kb import MAX_QUERY, Author
from server.store import kb_stats
from server.store.kb import Article, Draft, Status
from server.store.kb_stats import NO_FIGURES
from web_console.port import Agent
from web_console.requests import current_agent

STATUSES: tuple[Status, ...] = ("draft", "published")


class ArticleChange(BaseModel):
    """An article's fields as an editor saves them."""

    model_config = ConfigDict(extra="forbid")
    language: str = Field(pattern=r"^[a-z]{2,3}$", description="ISO 639 code: en, fr, ...")
    slug: str = Field(
        default="", max_length=100, description="its address in the help center; '' from the title"
    )
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=200_000, description="Markdown")
    category: str = Field(default="", max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=20)
    status: Literal["draft", "published"] = "draft"


class NewArticle(ArticleChange):
    brand: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="the brand's slug")


class Preview(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(max_length=200_000, description="Markdown")


class ArticleView(TypedDict):
    id: str
    brand: str
    brand_id: str
    language: str
    slug: str
    title: str
    body: str
    html: str
    category: str
    tags: list[str]
    status: str
    version: int
    author: str
    url: str
    created_at: str
    updated_at: str
    published_at: str | None


def article_view(article: Article) -> ArticleView:
    return {
        "id": str(article.id),
        "brand": article.brand,
        "brand_id": str(article.brand_id),
        "language": article.language,
        "slug": article.slug,
        "title": article.title,
        "body": article.body,
        "html": kb_markdown.to_html(article.body),
        "category": article.category,
        "tags": article.tags,
        "status": article.status,
        "version": article.version,
        "author": article.author_name,
        "url": f"/help/{article.brand}/{article.language}/{article.slug}",
        "created_at": article.created_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
        "published_at": article.published_at.isoformat() if article.published_at else None,
    }


def _author(agent: Agent) -> Author:
    return Author(UUID(agent.id), agent.name, agent.email)


def _draft(change: ArticleChange) -> Draft:
    return Draft(
        change.language,
        change.slug,
        change.title,
        change.body,
        change.category,
        change.tags,
        change.status,
    )


async def _writable(request: Request, agent: Agent) -> Article:
    article = await readable(request, agent)
    may_write(agent, article.brand_id)
    return article


async def list_articles(request: Request) -> Response:
    """
    summary: The knowledge base's articles in the brands you hold a role in
    parameters:
      - {name: brand, in: query, schema: {type: string}, description: a brand's slug}
      - {name: lang, in: query, schema: {type: string}, description: a language (en, fr)}
      - {name: status, in: query, schema: {type: string, enum: [draft, published]}}
      - {name: category, in: query, schema: {type: string}}
    responses:
      200: {description: "articles: each without its body, with an excerpt and its figures"}
      401: {description: not logged in}
      422: {description: a filter that cannot be one}
    """
    agent = await current_agent(request)
    status = query_value(request, "status")
    if status is not None and status not in STATUSES:
        raise HTTPException(422, "status: draft or published")
    brand_ids = None if agent.admin else [UUID(b) for b, held in agent.roles.items() if held]
    found = await knowledge_base(request).articles(
        brand_ids,
        brand=query_value(request, "brand"),
        language=query_value(request, "lang"),
        statuses=[status] if status == "draft" or status == "published" else STATUSES,
        category=query_value(request, "category"),
    )
    async with services(request).pool.acquire() as conn:
        used = await kb_stats.figures(conn, [a.id for a in found])
    items = []
    for article in found:
        view: dict[str, object] = {**article_view(article)}
        del view["body"], view["html"]
        figures = figures_view(used.get(article.id, NO_FIGURES))
        items.append({**view, "excerpt": kb_markdown.excerpt(article.body), "figures": figures})
    return JSON({"articles": items})


async def list_brands(request: Request) -> Response:
    """
    summary: The brands whose knowledge base you read, and whether you write it
    responses:
      200: {description: "brands: id, slug, name, writer"}
      401: {description: not logged in}
    """
    agent = await current_agent(request)
    held = None if agent.admin else [UUID(b) for b, roles in agent.roles.items() if roles]
    async with services(request).pool.acquire() as conn:
        found = await kb_stats.brands(conn, held)
    return JSON(
        {
            "brands": [
                {
                    "id": str(b.id),
                    "slug": b.slug,
                    "name": b.name,
                    "writer": agent.admin or bool(roles(agent, b.id) & WRITERS),
                }
                for b in found
            ]
        }
    )


async def get_article(request: Request) -> Response:
    """
    summary: One article, with its Markdown and its sanitised HTML
    responses:
      200: {description: the article}
      401: {description: not logged in}
      404: {description: no such article in a brand you hold a role in}
    """
    agent = await current_agent(request)
    return JSON(article_view(await readable(request, agent)))


async def create_article(request: Request) -> Response:
    """
    summary: Write a new article (version 1)
    body: NewArticle
    responses:
      201: {description: the article}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: only the brand's editors and supervisors, and admins, write articles}
      404: {description: no such brand among yours}
      409: {description: the brand has an article with that slug in that language}
      422: {description: a field that cannot be (the message names it)}
    """
    agent = await current_agent(request)
    new = await body(request, NewArticle)
    kb = knowledge_base(request)
    brand_id = await kb.brand_id(new.brand)
    if brand_id is None or not (agent.admin or roles(agent, brand_id)):
        raise HTTPException(404, f"no brand {new.brand!r}")
    may_write(agent, brand_id)
    article = await kb.create(new.brand, _draft(new), _author(agent))
    return JSON(article_view(article), status_code=201)


async def update_article(request: Request) -> Response:
    """
    summary: Save an article's next version (the previous one stays in its versions)
    body: ArticleChange
    responses:
      200: {description: the article}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: only the brand's editors and supervisors, and admins, write articles}
      404: {description: no such article in a brand you hold a role in}
      409: {description: the brand has an article with that slug in that language}
      422: {description: a field that cannot be (the message names it)}
    """
    agent = await current_agent(request)
    article = await _writable(request, agent)
    change = await body(request, ArticleChange)
    saved = await knowledge_base(request).update(article.id, _draft(change), _author(agent))
    return JSON(article_view(saved))


async def publish_article(request: Request) -> Response:
    """
    summary: Publish an article (a new version with the same text)
    responses:
      200: {description: the article, published}
      401: {description: not logged in}
      403: {description: only the brand's editors and supervisors, and admins, publish}
      404: {description: no such article in a brand you hold a role in}
    """
    agent = await current_agent(request)
    article = await _writable(request, agent)
    saved = await knowledge_base(request).set_status(article.id, "published", _author(agent))
    return JSON(article_view(saved))


async def unpublish_article(request: Request) -> Response:
    """
    summary: Take an article out of the help center (back to draft, a new version)
    responses:
      200: {description: the article, a draft again}
      401: {description: not logged in}
      403: {description: only the brand's editors and supervisors, and admins, unpublish}
      404: {description: no such article in a brand you hold a role in}
    """
    agent = await current_agent(request)
    article = await _writable(request, agent)
    saved = await knowledge_base(request).set_status(article.id, "draft", _author(agent))
    return JSON(article_view(saved))


async def delete_article(request: Request) -> Response:
    """
    summary: Delete an article and its versions
    responses:
      204: {description: deleted}
      401: {description: not logged in}
      403: {description: only the brand's editors and supervisors, and admins, delete}
      404: {description: no such article in a brand you hold a role in}
    """
    agent = await current_agent(request)
    article = await _writable(request, agent)
    await knowledge_base(request).delete(article.id, _author(agent))
    return Response(status_code=204)


async def list_versions(request: Request) -> Response:
    """
    summary: An article's saved versions, newest first, each with who saved it
    responses:
      200: {description: "versions: version, title, body, category, tags, status, author, saved_at"}
      401: {description: not logged in}
      404: {description: no such article in a brand you hold a role in}
    """
    agent = await current_agent(request)
    article = await readable(request, agent)
    versions = await knowledge_base(request).versions(article.id)
    return JSON(
        {
            "versions": [
                {
                    "version": v.version,
                    "title": v.title,
                    "body": v.body,
                    "category": v.category,
                    "tags": v.tags,
                    "status": v.status,
                    "author": v.author_name,
                    "saved_at": v.saved_at.isoformat(),
                }
                for v in versions
            ]
        }
    )


async def search_articles(request: Request) -> Response:
    """
    summary: Search a brand's articles from the console (drafts too, for its writers)
    description: >
      The same hybrid search as the public one, for agents linking an article; the brand's
      editors and supervisors, and admins, also find drafts.
    parameters:
      - {name: q, in: query, required: true, schema: {type: string, minLength: 1, maxLength: 500}}
      - {name: brand, in: query, required: true, schema: {type: string}, description: its slug}
      - {name: lang, in: query, schema: {type: string, default: en}}
    responses:
      200: {description: "results: article id, title, url, status, excerpt, passage, best first"}
      401: {description: not logged in}
      404: {description: no such brand among yours}
      422: {description: a missing or malformed parameter (the message names it)}
    """
    agent = await current_agent(request)
    q = (query_value(request, "q") or "").strip()
    brand = query_value(request, "brand") or ""
    lang = query_value(request, "lang") or "en"
    if not q or len(q) > MAX_QUERY:
        raise HTTPException(422, f"q: a question of 1 to {MAX_QUERY} characters")
    if not LANGUAGE.match(lang):
        raise HTTPException(422, "lang: a two- or three-letter language code (en, fr)")
    kb = knowledge_base(request)
    brand_id = await kb.brand_id(brand) if BRAND.match(brand) else None
    if brand_id is None or not (agent.admin or roles(agent, brand_id)):
        raise HTTPException(404, f"no brand {brand!r}")
    writer = agent.admin or bool(roles(agent, brand_id) & WRITERS)
    hits = await kb.search(
        brand, lang, q, limit=10, statuses=STATUSES if writer else ("published",)
    )
    return JSON(
        {
            "results": [
                {
                    "id": str(h.article.id),
                    "title": h.article.title,
                    "url": f"/help/{brand}/{lang}/{h.article.slug}",
                    "status": h.article.status,
                    "excerpt": kb_markdown.excerpt(h.article.body),
                    "passage": h.passage,
                }
                for h in hits
            ]
        }
    )


async def preview(request: Request) -> Response:
    """
    summary: Markdown as the help center will show it (sanitised HTML)
    body: Preview
    responses:
      200: {description: "html: the sanitised HTML"}
      400: {description: body is not JSON}
      401: {description: not logged in}
      422: {description: body missing or too long}
    """
    await current_agent(request)
    wanted = await body(request, Preview)
    return JSON({"html": kb_markdown.to_html(wanted.body)})


# Mounted under /console (its session cookie and Origin check) by web_console.routes.
routes = [
    Route("/api/kb/brands", list_brands, methods=["GET"]),
    Route("/api/kb/articles", list_articles, methods=["GET"]),
    Route("/api/kb/articles", create_article, methods=["POST"]),
    Route("/api/kb/articles/{id}", get_article, methods=["GET"]),
    Route("/api/kb/articles/{id}", update_article, methods=["PUT"]),
    Route("/api/kb/articles/{id}", delete_article, methods=["DELETE"]),
    Route("/api/kb/articles/{id}/publish", publish_article, methods=["POST"]),
    Route("/api/kb/articles/{id}/unpublish", unpublish_article, methods=["POST"]),
    Route("/api/kb/articles/{id}/versions", list_versions, methods=["GET"]),
    Route("/api/kb/search", search_articles, methods=["GET"]),
    Route("/api/kb/preview", preview, methods=["POST"]),
    *kb_figures.routes,
    *kb_agent.routes,
]
