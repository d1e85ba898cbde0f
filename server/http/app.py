"""The Starlette application: operator endpoints, the admin and bot APIs, the web chat channel
and the console, with the one map from exceptions to HTTP answers (``errors.py``)."""

from __future__ import annotations

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from channels.webchat import routes as webchat_routes
from channels.webchat.routes import WEBSOCKET_PATH
from server.bootstrap import Services
from server.http import (
    admin,
    analytics,
    bot_api,
    errors,
    help_center,
    icon,
    kb_editor,
    kb_search,
    operations,
    sockets,
)
from server.http.headers import SecurityHeaders
from server.settings import Settings
from web_console import routes as console_routes
from web_console.requests import SessionCookie


def create_app(services: Services) -> Starlette:
    """Operator endpoints, the web chat channel and the console on one app.

    Middleware is attached where it is needed (CORS on the widget's API, the session cookie
    on the console), so the hot widget socket passes through none of it.
    """
    settings = services.settings
    origins = settings.origins()
    cookie = SessionCookie(
        secret=settings.signing_key(),
        max_age=settings.console_session_ttl,
        https_only=settings.base_url.startswith("https"),
    )
    routes = [
        *operations.routes,
        *icon.routes,
        *bot_api.routes,
        admin.mount(settings.admin_api_token()),
        *webchat_routes.routes(
            services.webchat_hub, services.webchat_backend, services.tokens, origins
        ),
        *console_routes.routes(
            services.console_hub,
            services.console_backend,
            services.agents,
            services.accounts,
            settings.console_allow_list(),
            cookie,
            more_api=[*kb_editor.routes, *analytics.routes],
        ),
        *kb_search.routes,
        *help_center.routes,
    ]
    if services.telegram is not None:
        from channels.telegram import routes as telegram_routes  # aiogram: only when used

        for bot in services.telegram.bots:
            routes += telegram_routes.routes(bot, bot.webhook_secret, bot.path)
    if services.slack is not None:
        routes += services.slack.routes()
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers=errors.exception_handlers(),
    )
    app.state.services = services  # what the server's handlers use (server/http/inputs.py)
    return app


def asgi_app(services: Services) -> ASGIApp:
    """What uvicorn serves: the Starlette app, with the widget socket dispatched ahead of it.

    The widget socket is the path thousands of idle customers hold open. Sent straight to its
    hub, it skips Starlette's error, exception and routing layers, whose coroutine frames
    cost about 5 KB per held socket (tracemalloc; bench/RESULTS.md). The same endpoint is
    also routed inside the Starlette app, so ``create_app`` alone is complete.
    """
    app = create_app(services)
    widget_socket = services.webchat_hub.asgi
    # Webhooks too (Telegram's updates, Slack's events): the router would try every route
    # before /channels/, and their endpoints answer their own errors (bench/webhooks.py: the
    # acknowledgement's CPU). Routed inside the app as well.
    hooks = webhook_endpoints(app, services)

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == WEBSOCKET_PATH:
            await widget_socket(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] in hooks and scope["method"] == "POST":
            await hooks[scope["path"]](scope, receive, send)
        else:
            await app(scope, receive, send)

    return dispatch


def webhook_endpoints(app: Starlette, services: Services) -> dict[str, ASGIApp]:
    """The webhook routes' endpoints by path (POST only)."""
    paths = {bot.path for bot in services.telegram.bots} if services.telegram else set()
    if services.slack is not None:
        paths.add(services.slack.events_path)
    return {r.path: r.app for r in app.routes if isinstance(r, Route) and r.path in paths}


def server_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """uvicorn's settings for our app: frame limit, heartbeats, graceful shutdown."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # uvicorn's httptools and websockets-sansio protocols, without two costs of each
        # WebSocket handshake (server/http/sockets.py).
        http=sockets.HttpProtocol,
        ws=sockets.SocketProtocol,
        ws_max_size=settings.ws_max_frame_bytes,
        # Protocol-level pings find dead peers; the widget also sends app-level pings,
        # which browsers can see.
        ws_ping_interval=settings.ws_heartbeat_seconds,
        ws_ping_timeout=settings.ws_heartbeat_seconds,
        # Chat frames are small: per-message deflate would save little bandwidth and cost a
        # zlib context per socket (memory) and CPU per frame; see bench/RESULTS.md.
        ws_per_message_deflate=settings.ws_compression,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        lifespan="off",
        log_config=None,
        timeout_graceful_shutdown=10,
        server_header=False,
        backlog=settings.listen_backlog,
    )
