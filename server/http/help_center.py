"""A brand's public help center, server-rendered: ``/help/<brand>`` (its languages),
``/help/<brand>/<lang>`` (articles by category, a search box; ``?q=`` shows the results) and
``/help/<brand>/<lang>/<slug>`` (one article). Published articles only.

Plain HTML that search engines index and that works without script. Every value is escaped
where it is written; an article's body is the sanitised HTML of its Markdown
(server/services/kb_markdown.py). The pages run no script at all (``script-src 'none'``), and
their one stylesheet is inline, allowed by its hash, so even an escaping mistake could not
run anything.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from server.http import icon
from server.http.kb_search import admit, knowledge_base
from server.services import kb_markdown
from server.services.kb import MAX_QUERY
from server.store.kb import Article

BRAND = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
RESULTS = 10
TEXTS = {
    "en": {
        "title": "Help center",
        "search": "Search",
        "placeholder": "Ask a question",
        "results": "Results for",
        "none": "No article answers that yet. Try other words, or write to us.",
        "back": "All articles",
        "other": "Other",
        "updated": "Updated",
    },
    "fr": {
        "title": "Centre d'aide",
        "search": "Rechercher",
        "placeholder": "Posez votre question",
        "results": "Résultats pour",
        "none": "Aucun article n'y répond encore. Essayez d'autres mots, ou écrivez-nous.",
        "back": "Tous les articles",
        "other": "Autres",
        "updated": "Mis à jour le",
    },
}
STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:46rem;padding:1rem;"
    "color:#1d2330}a{color:#1e5fbf}header{border-bottom:1px solid #d8dde6;margin-bottom:1rem}"
    "form{display:flex;gap:.5rem;margin:1rem 0}input{flex:1;font:inherit;padding:.4rem}"
    "button{font:inherit;padding:.4rem .8rem}pre{overflow:auto;background:#f4f6f9;padding:.5rem}"
    "img{max-width:100%}table{border-collapse:collapse}td,th{border:1px solid #d8dde6;"
    "padding:.25rem .5rem}.excerpt{color:#4a5363;margin-top:0}"
)
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# Nothing but the inline stylesheet above, images from anywhere (articles show them), and the
# search form to this site; no script, no framing.
POLICY = "; ".join(
    [
        "default-src 'none'",
        f"style-src 'sha256-{STYLE_HASH}'",
        "img-src 'self' https: data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {"content-security-policy": POLICY, "x-frame-options": "DENY"}


def _texts(language: str) -> dict[str, str]:
    return TEXTS.get(language, TEXTS["en"])


def _page(
    title: str, language: str, body: str, *, description: str = "", status: int = 200
) -> Response:
    meta = f'<meta name="description" content="{escape(description)}">' if description else ""
    document = (
        f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>{meta}{icon.LINK}<style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=HEADERS)


def _not_found(language: str = "en") -> Response:
    return _page("Not found", language, "<h1>Not found</h1>", status=404)


def _header(brand: str, name: str, language: str, query: str = "") -> str:
    texts = _texts(language)
    home = f"/help/{quote(brand)}/{quote(language)}"
    return (
        f'<header><p><a href="{home}">{escape(name)} — {escape(texts["title"])}</a></p>'
        f'<form role="search" method="get" action="{home}">'
        f'<input type="search" name="q" value="{escape(query)}" maxlength="{MAX_QUERY}" '
        f'placeholder="{escape(texts["placeholder"])}" aria-label="{escape(texts["search"])}">'
        f"<button>{escape(texts['search'])}</button></form></header>"
    )


def _link(article: Article) -> str:
    href = f"/help/{quote(article.brand)}/{quote(article.language)}/{quote(article.slug)}"
    return f'<a href="{href}">{escape(article.title)}</a>'


def _categories(articles: Iterable[Article], language: str) -> str:
    by_category: dict[str, list[Article]] = {}
    for article in articles:
        by_category.setdefault(article.category, []).append(article)
    other = _texts(language)["other"]
    sections = []
    for category in sorted(by_category, key=lambda c: (c == "", c.casefold())):
        items = "".join(f"<li>{_link(a)}</li>" for a in by_category[category])
        sections.append(f"<section><h2>{escape(category or other)}</h2><ul>{items}</ul></section>")
    return "".join(sections)


async def brand_home(request: Request) -> Response:
    """The brand's help center: its languages (straight to the one when there is one)."""
    brand = str(request.path_params["brand"])
    kb = knowledge_base(request)
    name = await kb.brand_name(brand) if BRAND.match(brand) else None
    if name is None:
        return _not_found()
    languages = await kb.languages(brand)
    if len(languages) == 1:
        return RedirectResponse(f"/help/{quote(brand)}/{languages[0]}", status_code=302)
    items = "".join(
        f'<li><a href="/help/{quote(brand)}/{quote(lang)}" hreflang="{escape(lang)}">'
        f"{escape(_texts(lang)['title'])} ({escape(lang)})</a></li>"
        for lang in languages
    )
    return _page(f"{name} — Help", "en", f"<h1>{escape(name)}</h1><ul>{items}</ul>")


async def language_home(request: Request) -> Response:
    """Articles by category, and a search box; with ``?q=``, the search's results."""
    brand = str(request.path_params["brand"])
    language = str(request.path_params["lang"])
    kb = knowledge_base(request)
    valid = BRAND.match(brand) and LANGUAGE.match(language)
    name = await kb.brand_name(brand) if valid else None
    if name is None:
        return _not_found()
    texts = _texts(language)
    query = " ".join(request.query_params.get("q", "").replace("\x00", "").split())[:MAX_QUERY]
    if query:
        await admit(request)
        hits = await kb.search(brand, language, query, limit=RESULTS)
        items = "".join(
            f"<li>{_link(h.article)}"
            f'<p class="excerpt">{escape(kb_markdown.excerpt(h.article.body))}</p></li>'
            for h in hits
        )
        found = f"<ol>{items}</ol>" if hits else f"<p>{escape(texts['none'])}</p>"
        body = (
            _header(brand, name, language, query)
            + f"<h1>{escape(texts['results'])} “{escape(query)}”</h1>{found}"
        )
        # Results pages are not worth indexing: the articles are.
        response = _page(f"{query} — {name}", language, body)
        response.headers["x-robots-tag"] = "noindex"
        return response
    articles = await kb.articles(None, brand=brand, language=language, statuses=("published",))
    body = (
        _header(brand, name, language)
        + f"<h1>{escape(texts['title'])}</h1>"
        + _categories(articles, language)
    )
    return _page(f"{texts['title']} — {name}", language, body)


async def article_page(request: Request) -> Response:
    """One published article: its sanitised HTML."""
    brand = str(request.path_params["brand"])
    language = str(request.path_params["lang"])
    slug = str(request.path_params["slug"])
    if not (BRAND.match(brand) and LANGUAGE.match(language) and SLUG.match(slug)):
        return _not_found()
    kb = knowledge_base(request)
    name = await kb.brand_name(brand)
    article = await kb.by_slug(brand, language, slug)
    if name is None or article is None:
        return _not_found(language if LANGUAGE.match(language) else "en")
    texts = _texts(language)
    updated = article.updated_at.date().isoformat()
    body = (
        _header(brand, name, language)
        + f"<article><h1>{escape(article.title)}</h1>"
        + f"{kb_markdown.to_html(article.body)}"
        + f"<p><small>{escape(texts['updated'])} {updated}</small></p></article>"
        + f'<p><a href="/help/{quote(brand)}/{quote(language)}">{escape(texts["back"])}</a></p>'
    )
    return _page(
        f"{article.title} — {name}",
        language,
        body,
        description=kb_markdown.excerpt(article.body, 160),
    )


routes = [
    Route("/help/{brand}", brand_home, methods=["GET"], include_in_schema=False),
    Route("/help/{brand}/{lang}", language_home, methods=["GET"], include_in_schema=False),
    Route("/help/{brand}/{lang}/{slug}", article_page, methods=["GET"], include_in_schema=False),
]
