"""The reports' definitions (docs/metrics.md) as a page the dashboard links to: the Markdown
rendered as the help center renders articles (Markdown's own tags only, sanitised), each
heading given an id from its words so a link can point at one figure's section
(``#speed``, ``#a-reopened-conversation``). Any signed-in console user may read it: it says
how figures are counted, nothing about anyone's data."""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from server.services.kb_markdown import to_html
from web_console.requests import current_agent
from web_console.routes import PAGE_HEADERS

# The repository's docs/, or the working directory's when the package runs installed (the
# Docker image copies docs/metrics.md into its working directory, /app).
PLACES = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md", Path("docs/metrics.md"))
_HEADING = re.compile(r"<(h[1-4])>(.*?)</\1>", re.DOTALL)


def _anchor(words: str) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", "", words)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def source() -> Path | None:
    return next((p for p in PLACES if p.is_file()), None)


@functools.cache
def page(path: Path) -> str:
    body = _HEADING.sub(
        lambda m: f'<{m[1]} id="{_anchor(m[2])}">{m[2]}</{m[1]}>',
        to_html(path.read_text(encoding="utf-8")),
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>How the reports count - Switchboard</title>"
        '<link rel="stylesheet" href="/console/static/analytics/definitions.css">'
        f'</head><body><main class="definitions">{body}</main></body></html>'
    )


async def definitions(request: Request) -> Response:
    """
    summary: How each report figure is counted (docs/metrics.md), as a page
    responses:
      200: {description: an HTML page}
      401: {description: not logged in}
      503: {description: the definitions are not installed with this server}
    """
    await current_agent(request)
    path = source()
    if path is None:
        raise HTTPException(503, "docs/metrics.md is not installed with this server")
    return HTMLResponse(page(path), headers=PAGE_HEADERS)
