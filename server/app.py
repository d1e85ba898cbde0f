"""The Starlette application: operator endpoints, the web chat channel and the console."""

from __future__ import annotations

import uvicorn
from starlette.applications import Starlette

from channels.webchat import routes as webchat_routes
from server import operations
from server.bootstrap import Services
from server.settings import Settings
from web_console import routes as console_routes
from web_console.routes import SessionCookie


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
        *operations.routes(services),
        *webchat_routes.routes(
            services.webchat_hub, services.webchat_backend, services.tokens, origins
        ),
        *console_routes.routes(
            services.console_hub, services.console_backend, services.agents, origins, cookie
        ),
    ]
    app = Starlette(routes=routes)
    app.state.services = services
    return app


def server_config(app: Starlette, settings: Settings) -> uvicorn.Config:
    """uvicorn's settings for our app: frame limit, heartbeats, graceful shutdown."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_max_size=settings.ws_max_frame_bytes,
        # Protocol-level pings find dead peers; the widget also sends app-level pings,
        # which browsers can see.
        ws_ping_interval=settings.ws_heartbeat_seconds,
        ws_ping_timeout=settings.ws_heartbeat_seconds,
        # Chat frames are small: per-message deflate would save little bandwidth and cost a
        # zlib context per socket (memory) and CPU per frame; see bench/RESULTS.md.
        ws_per_message_deflate=settings.ws_compression,
        lifespan="off",
        log_config=None,
        timeout_graceful_shutdown=10,
        server_header=False,
    )
