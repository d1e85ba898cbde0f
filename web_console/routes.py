"""The console's HTTP routes: the page, its files, the REST API and the WebSocket. The
handlers live in ``agent_endpoints`` and ``conversation_endpoints``; what they share in
``requests``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from web_console import account_endpoints as account
from web_console import bot_endpoints
from web_console import bot_review_endpoints as bot_review
from web_console import bot_studio_endpoints as bot_studio
from web_console import bot_training_endpoints as bot_training
from web_console import bot_version_endpoints as bot_versions
from web_console import brand_text_endpoints as brand_texts
from web_console import teamwork_endpoints as teamwork
from web_console.account_port import Accounts
from web_console.agent_endpoints import (
    directory,
    get_queue,
    login,
    logout,
    me,
    overview,
    set_status,
)
from web_console.contact_endpoints import erase_contact, export_contact
from web_console.conversation_endpoints import (
    claim,
    get_attachment,
    get_context,
    get_conversation,
    get_original,
    list_activities,
    list_conversations,
    list_messages,
    merge_contact,
    post_message,
    resolve,
    return_to_bot,
    search,
    transfer,
)
from web_console.hub import ConsoleHub
from web_console.label_endpoints import list_filters, put_labels
from web_console.people_endpoints import audit_log, invite, list_people, set_access
from web_console.port import AgentDirectory, ConsoleBackend
from web_console.profile_endpoints import edit_contact
from web_console.requests import Console, ConsoleScope, SessionCookie
from web_console.suggestion_endpoints import get_suggestions
from web_console.summary_endpoints import get_summary
from web_console.throttle import LoginThrottle

STATIC = Path(__file__).parent / "static"


# The console's page runs only its own files: no inline script or style, no framing (a site
# that frames it could trick an agent into clicks), its socket and API on its own origin.
CONSOLE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {"content-security-policy": CONSOLE_POLICY, "x-frame-options": "DENY"}


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


async def password_page(request: Request) -> Response:
    """Where an invite or reset link lands: set a password (web_console/static/password.js)."""
    return FileResponse(STATIC / "password.html", headers=PAGE_HEADERS)


API = [
    Route("/api/login", login, methods=["POST"]),
    Route("/api/logout", logout, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/me/status", set_status, methods=["POST"]),
    Route("/api/me/sessions", account.list_sessions, methods=["GET"]),
    Route("/api/me/sessions/sign-out-others", account.end_other_sessions, methods=["POST"]),
    Route("/api/me/sessions/{id}", account.end_session, methods=["DELETE"]),
    Route("/api/me/password", account.change_password, methods=["POST"]),
    Route("/api/me/totp", account.totp_state, methods=["GET"]),
    Route("/api/me/totp", account.begin_totp, methods=["POST"]),
    Route("/api/me/totp/confirm", account.confirm_totp, methods=["POST"]),
    Route("/api/me/totp/disable", account.disable_totp, methods=["POST"]),
    Route("/api/me/tokens", account.list_tokens, methods=["GET"]),
    Route("/api/me/tokens", account.create_token, methods=["POST"]),
    Route("/api/me/tokens/{id}", account.revoke_token, methods=["DELETE"]),
    Route("/api/password-reset", account.request_reset, methods=["POST"]),
    Route("/api/password-reset/check", account.check_link, methods=["POST"]),
    Route("/api/password-reset/confirm", account.set_password_by_link, methods=["POST"]),
    Route("/api/queue", get_queue, methods=["GET"]),
    Route("/api/overview", overview, methods=["GET"]),
    Route("/api/bot", bot_endpoints.bot, methods=["GET"]),
    Route("/api/bot/intents", bot_endpoints.intents, methods=["GET"]),
    Route("/api/bot/intents/{name:path}", bot_endpoints.intent, methods=["GET"]),
    Route("/api/bot/responses", bot_endpoints.responses, methods=["GET"]),
    Route("/api/bot/flows", bot_endpoints.flows, methods=["GET"]),
    Route("/api/bot/domain", bot_endpoints.domain, methods=["GET"]),
    Route("/api/bot/review/brands", bot_review.brands, methods=["GET"]),
    Route("/api/bot/review/items", bot_review.items, methods=["GET"]),
    Route("/api/bot/review/items/{message_id:int}", bot_review.item, methods=["GET"]),
    Route("/api/bot/review/labels", bot_review.label, methods=["POST"]),
    Route("/api/bot/review/ignored", bot_review.ignore, methods=["POST"]),
    Route("/api/bot/review/retrain", bot_review.retrain, methods=["POST"]),
    Route("/api/bot/review/health", bot_review.health, methods=["GET"]),
    Route("/api/messages/{message_id:int}/bot-flag", bot_review.flag, methods=["POST"]),
    Route("/api/bot/lexicon", bot_studio.lexicon, methods=["GET"]),
    Route("/api/bot/flows", bot_studio.set_flow, methods=["PUT"]),
    Route("/api/bot/flows", bot_studio.delete_flow, methods=["DELETE"]),
    Route("/api/bot/intents", bot_studio.add_intent, methods=["POST"]),
    Route("/api/bot/examples", bot_studio.add_examples, methods=["POST"]),
    Route("/api/bot/examples", bot_studio.edit_example, methods=["PUT"]),
    Route("/api/bot/examples", bot_studio.delete_example, methods=["DELETE"]),
    Route("/api/bot/lists/{kind}", bot_studio.set_list, methods=["PUT"]),
    Route("/api/bot/responses/{name:path}", bot_studio.set_response, methods=["PUT"]),
    Route("/api/bot/responses/{name:path}", bot_studio.delete_response, methods=["DELETE"]),
    Route("/api/bot/files", bot_versions.files, methods=["GET"]),
    Route("/api/bot/files/{path:path}", bot_versions.project_file, methods=["GET"]),
    Route("/api/bot/files/{path:path}", bot_versions.set_project_file, methods=["PUT"]),
    Route("/api/bot/versions", bot_versions.versions, methods=["GET"]),
    Route("/api/bot/versions/{version_id:int}", bot_versions.version, methods=["GET"]),
    Route("/api/bot/versions/{version_id:int}/rollback", bot_versions.rollback, methods=["POST"]),
    Route("/api/bot/validate", bot_training.validate, methods=["POST"]),
    Route("/api/bot/train", bot_training.train, methods=["POST"]),
    Route("/api/bot/test", bot_training.trial, methods=["POST"]),
    Route("/api/bot/evaluate", bot_training.evaluate, methods=["POST"]),
    Route("/api/bot/jobs", bot_training.jobs, methods=["GET"]),
    Route("/api/bot/jobs/{id}", bot_training.job, methods=["GET"]),
    Route("/api/bot/jobs/{id}/events", bot_training.job_events, methods=["GET"]),
    Route("/api/directory", directory, methods=["GET"]),
    Route("/api/conversations/{id}/claim", claim, methods=["POST"]),
    Route("/api/conversations/{id}/transfer", transfer, methods=["POST"]),
    Route("/api/conversations/{id}/resolve", resolve, methods=["POST"]),
    Route("/api/conversations/{id}/merge-contact", merge_contact, methods=["POST"]),
    Route("/api/conversations", list_conversations, methods=["GET"]),
    Route("/api/search", search, methods=["GET"]),
    Route("/api/conversations/{id}", get_conversation, methods=["GET"]),
    Route("/api/conversations/{id}/messages", list_messages, methods=["GET"]),
    Route("/api/conversations/{id}/context", get_context, methods=["GET"]),
    Route("/api/conversations/{id}/summary", get_summary, methods=["GET"]),
    Route("/api/conversations/{id}/suggestions", get_suggestions, methods=["GET"]),
    Route("/api/conversations/{id}/activities", list_activities, methods=["GET"]),
    Route("/api/conversations/{id}/labels", put_labels, methods=["PUT"]),
    Route("/api/conversations/{id}/contact", edit_contact, methods=["PATCH"]),
    Route("/api/filters", list_filters, methods=["GET"]),
    Route("/api/conversations/{id}/notes", teamwork.list_notes, methods=["GET"]),
    Route("/api/conversations/{id}/notes", teamwork.post_note, methods=["POST"]),
    Route(
        "/api/conversations/{id}/canned-responses",
        teamwork.canned_for_conversation,
        methods=["GET"],
    ),
    Route("/api/canned-responses", teamwork.list_canned, methods=["GET"]),
    Route("/api/canned-responses", teamwork.create_canned, methods=["POST"]),
    Route("/api/canned-responses/{id}", teamwork.change_canned, methods=["PUT"]),
    Route("/api/canned-responses/{id}", teamwork.delete_canned, methods=["DELETE"]),
    Route(
        "/api/messages/{message_id:int}/attachments/{n:int}",
        get_attachment,
        methods=["GET"],
    ),
    Route("/api/messages/{message_id:int}/original", get_original, methods=["GET"]),
    Route("/api/conversations/{id}/messages", post_message, methods=["POST"]),
    Route("/api/conversations/{id}/return-to-bot", return_to_bot, methods=["POST"]),
    Route("/api/contacts/{id}/export", export_contact, methods=["GET"]),
    Route("/api/contacts/{id}/erase", erase_contact, methods=["POST"]),
    Route("/api/brand-texts", brand_texts.list_brand_texts, methods=["GET"]),
    Route(
        "/api/brands/{brand_id}/texts/{kind}/{language}",
        brand_texts.put_brand_text,
        methods=["PUT"],
    ),
    Route(
        "/api/brands/{brand_id}/texts/{kind}/{language}",
        brand_texts.reset_brand_text,
        methods=["DELETE"],
    ),
    Route("/api/people", list_people, methods=["GET"]),
    Route("/api/people", invite, methods=["POST"]),
    Route("/api/audit", audit_log, methods=["GET"]),
    Route("/api/people/{id}/access", set_access, methods=["PUT"]),
]


def routes(
    hub: ConsoleHub,
    backend: ConsoleBackend,
    agents: AgentDirectory,
    accounts: Accounts,
    origins: frozenset[str],
    cookie: SessionCookie,
    throttle: LoginThrottle | None = None,
    more_api: Sequence[BaseRoute] = (),
) -> list[BaseRoute]:
    """The console's page, files, REST API and WebSocket; only the API and the socket carry
    the session cookie. ``more_api``: routes the server adds under /console with the same
    session and Origin check (the knowledge base's)."""
    console = Console(hub, backend, agents, accounts, origins, throttle or LoginThrottle())
    session = Middleware(
        SessionMiddleware,
        secret_key=cookie.secret,
        session_cookie="switchboard_console",
        max_age=cookie.max_age,
        same_site="strict",
        https_only=cookie.https_only,
    )
    return [
        Route("/console", index, include_in_schema=False),
        Route("/console/password", password_page, include_in_schema=False),
        Mount("/console/static", StaticFiles(directory=STATIC), name="console-static"),
        Mount(
            "/console",
            routes=[*API, *more_api, WebSocketRoute("/ws", hub.endpoint)],
            middleware=[session, Middleware(ConsoleScope, console=console)],
        ),
    ]
