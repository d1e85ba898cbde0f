"""The Starlette application: operator endpoints, the web chat channel and the console."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.sessions import SessionMiddleware

from channels.webchat import routes as webchat_routes
from server import operations
from server.bootstrap import Services
from web_console import routes as console_routes


def create_app(services: Services) -> Starlette:
    settings = services.settings
    origins = settings.origins()
    routes = [
        *operations.routes(services),
        *webchat_routes.routes(services.webchat_hub, services.webchat_backend, services.tokens),
        *console_routes.routes(
            services.console_hub, services.console_backend, services.agents, origins
        ),
    ]
    middleware = [
        # The widget may be embedded on the brand's own site: let those origins call us.
        Middleware(
            CORSMiddleware,
            allow_origins=sorted(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
        ),
        # Console sessions: a signed (itsdangerous), expiring cookie.
        Middleware(
            SessionMiddleware,
            secret_key=settings.signing_key(),
            session_cookie="switchboard_console",
            max_age=settings.console_session_ttl,
            same_site="strict",
            https_only=settings.base_url.startswith("https"),
        ),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.services = services
    return app
