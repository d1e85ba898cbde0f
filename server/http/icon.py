"""The site icon: one small SVG for every page (console, widget demo, help centre).

Without it each browser asks for /favicon.ico on every page load and logs a 404 in the
console's developer tools, which is the first thing someone debugging the console sees."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

PATH = "/favicon.svg"
LINK = f'<link rel="icon" href="{PATH}" type="image/svg+xml">'

# A speech bubble in the console's header colours; viewBox units, no text (no font to load).
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="7" fill="#1d2433"/>'
    '<path d="M8 9h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-9l-5 4v-4H8a2 2 0 0 1-2-2v-9a2 2 0 0 1 '
    '2-2z" fill="#2454d6"/>'
    '<circle cx="12" cy="15.5" r="1.6" fill="#fff"/><circle cx="16" cy="15.5" r="1.6" '
    'fill="#fff"/><circle cx="20" cy="15.5" r="1.6" fill="#7be39a"/></svg>'
)

_CACHE = "public, max-age=86400"


async def icon(request: Request) -> Response:
    return Response(SVG, media_type="image/svg+xml", headers={"Cache-Control": _CACHE})


async def legacy_icon(request: Request) -> Response:
    """Browsers ask for /favicon.ico on pages that name no icon (an API answer opened in a
    tab); they follow a redirect to the SVG."""
    return RedirectResponse(PATH, status_code=301, headers={"Cache-Control": _CACHE})


routes = [
    Route(PATH, icon, methods=["GET"], include_in_schema=False),
    Route("/favicon.ico", legacy_icon, methods=["GET"], include_in_schema=False),
]
