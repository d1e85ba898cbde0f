"""The knowledge base's public search: ``GET /api/kb/search``, for the widget, a shop's own
pages and the help center's search box. Published articles only; no credentials; limited
per client address like the widget's other public doors (each search embeds the question and
queries Postgres, so a script must not be able to make them unbounded)."""

from __future__ import annotations

import re

from aiolimiter import AsyncLimiter
from cachetools import LRUCache
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.http.inputs import query_value, services
from server.http.responses import JSON
from server.services import kb_markdown
from server.services.kb import MAX_QUERY, KnowledgeBase

# Searches per minute per client address, on this node. A person typing questions makes a
# few a minute; 60 leaves room for an office behind one address.
PER_MINUTE = 60
# Addresses remembered at once: a spray of addresses evicts the oldest, never grows the
# process.
MAX_ADDRESSES = 50_000
BRAND = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
MAX_LIMIT = 10


class SearchLimits:
    """A token bucket per client address."""

    def __init__(self, per_minute: int = PER_MINUTE, max_addresses: int = MAX_ADDRESSES) -> None:
        self.per_minute = per_minute
        self._buckets: LRUCache[str, AsyncLimiter] = LRUCache(maxsize=max_addresses)

    async def take(self, address: str) -> bool:
        """Whether this address may search now; counts the search when so."""
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = self._buckets[address] = AsyncLimiter(self.per_minute, 60)
        if not bucket.has_capacity():
            return False
        await bucket.acquire()
        return True


def limits_of(request: Request) -> SearchLimits:
    """The app's limits, made with its first search (kept on the app, not the module, so two
    apps in one process count apart)."""
    state = request.app.state
    limits: SearchLimits | None = getattr(state, "kb_search_limits", None)
    if limits is None:
        limits = state.kb_search_limits = SearchLimits()
    return limits


async def admit(request: Request) -> None:
    """429 with Retry-After when this client address has searched too often."""
    address = request.client.host if request.client else "unknown"
    limits = limits_of(request)
    if not await limits.take(address):
        raise HTTPException(
            429,
            f"more than {limits.per_minute} searches a minute",
            {"Retry-After": str(max(1, round(60 / limits.per_minute)))},
        )


def knowledge_base(request: Request) -> KnowledgeBase:
    kb = services(request).kb
    if kb is None:
        raise HTTPException(503, "the knowledge base is not running")
    return kb


async def search(request: Request) -> Response:
    """
    summary: Search a brand's published help articles
    description: >
      Full-text and semantic search fused (reciprocal rank fusion), best first: each result
      has the article's title, its help center URL, the passage that matched and an excerpt.
    parameters:
      - {name: q, in: query, required: true, schema: {type: string, minLength: 1, maxLength: 500}}
      - {name: brand, in: query, required: true, schema: {type: string}, description: its slug}
      - {name: lang, in: query, schema: {type: string, default: en}, description: "en, fr, ..."}
      - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 10, default: 3}}
    responses:
      200:
        description: the results, best first
        content:
          application/json:
            schema:
              type: object
              required: [results]
              properties:
                results:
                  type: array
                  items:
                    type: object
                    properties:
                      id: {type: string}
                      title: {type: string}
                      url: {type: string}
                      category: {type: string}
                      excerpt: {type: string}
                      passage: {type: string}
                      score: {type: number}
      404: {description: no such brand}
      422: {description: a missing or malformed parameter (the message names it)}
      429: {description: too many searches from this address (Retry-After)}
    """
    q = (query_value(request, "q") or "").strip()
    brand = query_value(request, "brand") or ""
    lang = query_value(request, "lang") or "en"
    raw_limit = query_value(request, "limit") or "3"
    if not q:
        raise HTTPException(422, "q: a question is required")
    if len(q) > MAX_QUERY:
        raise HTTPException(422, f"q: at most {MAX_QUERY} characters")
    if not BRAND.match(brand):
        raise HTTPException(422, "brand: a brand's slug is required")
    if not LANGUAGE.match(lang):
        raise HTTPException(422, "lang: a two- or three-letter language code (en, fr)")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise HTTPException(422, f"limit: a whole number from 1 to {MAX_LIMIT}")
    await admit(request)
    kb = knowledge_base(request)
    if await kb.brand_id(brand) is None:
        raise HTTPException(404, f"no brand {brand!r}")
    hits = await kb.search(brand, lang, q, limit=int(raw_limit))
    return JSON(
        {
            "results": [
                {
                    "id": str(h.article.id),
                    "title": h.article.title,
                    "url": f"/help/{brand}/{lang}/{h.article.slug}",
                    "category": h.article.category,
                    "excerpt": kb_markdown.excerpt(h.article.body),
                    "passage": h.passage,
                    "score": h.score,
                }
                for h in hits
            ]
        }
    )


routes = [Route("/api/kb/search", search, methods=["GET"])]
