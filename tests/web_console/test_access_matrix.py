"""The access matrix, generated from the app's route table: every console route is called by
every kind of caller (no session, a tampered, expired or revoked cookie, an admin, and each
role in the conversation's brand and in the other brand), and every admin route with no
token, a wrong one and a console cookie. A route missing from the tables below fails the test,
so a new route cannot ship without saying who may call it.

The socket's event filter has its matrix too: every event name the server publishes, by every
role, in its own brand and in the other / other brand."""

from __future__ import annotations

import json
import time
import uuid
from base64 import b64encode
from dataclasses import dataclass
from typing import Any

import httpx
import itsdangerous
import pytest
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server import events
from server.http.app import create_app
from server.services import demo
from server.services.kb import Author
from server.store.kb import Draft
from tests.channels.webchat_client import close_code
from tests.harness import RunningServer
from tests.web_console.brands import ROLES, Brand, person, signed_in, two_brands
from web_console.access import Placement
from web_console.hub import _may_receive
from web_console.port import Agent

# Who may call each console route.
#   public    anyone (the login itself; the sample credentials are wrong: 401, or 429 once
#             the throttle has seen enough of them)
#   anyone    anyone; without a session it does nothing (logout)
#   session   any signed-in user
#   worker    those who take conversations: supervisors, agents, admins
#   report    supervisors, analysts, admins
#   list      those who read conversations: supervisors, agents, analysts, admins
#   read      …one conversation (or its messages and files): as list, in its brand and reach
#   act       …and change it: supervisors and agents in its brand and reach, admins
#   rights    a contact's export and erasure: supervisors of its brand, admins (another role
#             there: 403; none there: 404)
#   manage    a brand's settings (canned responses, greeting and closing message):
#             supervisors of the brand, admins
#             (another role there: 403; none there: 404)
#   admin     admins only (the people area)
#   design    bot designers (of any brand: one bot serves them all), admins
#   review    a brand's bot mistakes (a review item, the bot's health there): designers of
#             the brand, admins (another role: 403; a designer of another brand: 404)
#   kb-read   a knowledge-base article: any role in its brand, admins (none there: 404)
#   kb-edit   …written: editors and supervisors of its brand, admins (another role there:
#             403; none there: 404)
#   reports   a brand's reports: its supervisors and analysts, admins (another role there:
#             403; none there: 404)
CONSOLE = {
    ("POST", "/console/api/login"): "public",
    ("POST", "/console/api/logout"): "anyone",
    ("GET", "/console/api/me"): "session",
    ("POST", "/console/api/me/status"): "session",
    ("GET", "/console/api/me/sessions"): "session",
    ("POST", "/console/api/me/sessions/sign-out-others"): "session",
    ("DELETE", "/console/api/me/sessions/{id}"): "session",
    ("POST", "/console/api/me/password"): "session",
    ("GET", "/console/api/me/totp"): "session",
    ("POST", "/console/api/me/totp"): "session",
    ("POST", "/console/api/me/totp/confirm"): "session",
    ("POST", "/console/api/me/totp/disable"): "session",
    ("GET", "/console/api/me/tokens"): "session",
    ("POST", "/console/api/me/tokens"): "session",
    ("DELETE", "/console/api/me/tokens/{id}"): "session",
    ("POST", "/console/api/password-reset"): "anyone",
    ("POST", "/console/api/password-reset/check"): "anyone",
    ("POST", "/console/api/password-reset/confirm"): "anyone",
    ("GET", "/console/api/queue"): "worker",
    ("GET", "/console/api/directory"): "worker",
    ("GET", "/console/api/overview"): "report",
    ("GET", "/console/api/bot"): "design",
    ("GET", "/console/api/bot/intents"): "design",
    ("GET", "/console/api/bot/intents/{name:path}"): "design",
    ("GET", "/console/api/bot/responses"): "design",
    ("GET", "/console/api/bot/flows"): "design",
    ("GET", "/console/api/bot/domain"): "design",
    # The review inbox lists the messages of the designer's brands only (the leak scan).
    ("GET", "/console/api/bot/review/brands"): "design",
    ("GET", "/console/api/bot/review/items"): "design",
    ("GET", "/console/api/bot/review/items/{message_id:int}"): "review",
    ("POST", "/console/api/bot/review/labels"): "design",
    ("POST", "/console/api/bot/review/ignored"): "design",
    ("POST", "/console/api/bot/review/retrain"): "design",
    ("GET", "/console/api/bot/review/health"): "review",
    # "The bot got this wrong": whoever reads the conversation.
    ("POST", "/console/api/messages/{message_id:int}/bot-flag"): "read",
    ("GET", "/console/api/bot/lexicon"): "design",
    ("PUT", "/console/api/bot/flows"): "design",
    ("DELETE", "/console/api/bot/flows"): "design",
    ("POST", "/console/api/bot/intents"): "design",
    ("POST", "/console/api/bot/examples"): "design",
    ("PUT", "/console/api/bot/examples"): "design",
    ("DELETE", "/console/api/bot/examples"): "design",
    ("PUT", "/console/api/bot/lists/{kind}"): "design",
    ("PUT", "/console/api/bot/responses/{name:path}"): "design",
    ("DELETE", "/console/api/bot/responses/{name:path}"): "design",
    ("GET", "/console/api/bot/files"): "design",
    ("GET", "/console/api/bot/files/{path:path}"): "design",
    ("PUT", "/console/api/bot/files/{path:path}"): "design",
    ("GET", "/console/api/bot/versions"): "design",
    ("GET", "/console/api/bot/versions/{version_id:int}"): "design",
    ("POST", "/console/api/bot/versions/{version_id:int}/rollback"): "design",
    ("POST", "/console/api/bot/validate"): "design",
    ("POST", "/console/api/bot/train"): "design",
    ("POST", "/console/api/bot/test"): "design",
    ("POST", "/console/api/bot/evaluate"): "design",
    ("GET", "/console/api/bot/jobs"): "design",
    ("GET", "/console/api/bot/jobs/{id}"): "design",
    ("GET", "/console/api/bot/jobs/{id}/events"): "design",
    ("GET", "/console/api/conversations"): "list",
    ("GET", "/console/api/search"): "list",
    ("GET", "/console/api/conversations/{id}"): "read",
    ("GET", "/console/api/conversations/{id}/messages"): "read",
    ("GET", "/console/api/conversations/{id}/context"): "read",
    ("GET", "/console/api/conversations/{id}/summary"): "read",
    ("GET", "/console/api/conversations/{id}/suggestions"): "read",
    ("GET", "/console/api/conversations/{id}/activities"): "read",
    ("PUT", "/console/api/conversations/{id}/labels"): "act",
    ("PATCH", "/console/api/conversations/{id}/contact"): "act",
    ("GET", "/console/api/filters"): "list",
    ("GET", "/console/api/messages/{message_id:int}/attachments/{n:int}"): "read",
    ("GET", "/console/api/messages/{message_id:int}/original"): "read",
    ("POST", "/console/api/conversations/{id}/messages"): "act",
    ("POST", "/console/api/conversations/{id}/claim"): "act",
    ("POST", "/console/api/conversations/{id}/transfer"): "act",
    ("POST", "/console/api/conversations/{id}/merge-contact"): "act",
    ("POST", "/console/api/conversations/{id}/return-to-bot"): "act",
    ("POST", "/console/api/conversations/{id}/resolve"): "act",
    ("GET", "/console/api/contacts/{id}/export"): "rights",
    ("POST", "/console/api/contacts/{id}/erase"): "rights",
    ("GET", "/console/api/conversations/{id}/notes"): "read",
    ("POST", "/console/api/conversations/{id}/notes"): "act",
    ("GET", "/console/api/conversations/{id}/canned-responses"): "read",
    ("GET", "/console/api/canned-responses"): "session",
    ("POST", "/console/api/canned-responses"): "manage",
    ("PUT", "/console/api/canned-responses/{id}"): "manage",
    ("DELETE", "/console/api/canned-responses/{id}"): "manage",
    ("GET", "/console/api/brand-texts"): "session",
    ("PUT", "/console/api/brands/{brand_id}/texts/{kind}/{language}"): "manage",
    ("DELETE", "/console/api/brands/{brand_id}/texts/{kind}/{language}"): "manage",
    ("GET", "/console/api/people"): "admin",
    ("POST", "/console/api/people"): "admin",
    ("GET", "/console/api/audit"): "admin",
    ("PUT", "/console/api/people/{id}/access"): "admin",
    ("GET", "/console/api/kb/articles"): "session",
    ("GET", "/console/api/kb/brands"): "session",
    ("POST", "/console/api/kb/articles"): "kb-edit",
    ("GET", "/console/api/kb/articles/{id}"): "kb-read",
    ("PUT", "/console/api/kb/articles/{id}"): "kb-edit",
    ("DELETE", "/console/api/kb/articles/{id}"): "kb-edit",
    ("POST", "/console/api/kb/articles/{id}/publish"): "kb-edit",
    ("GET", "/console/api/kb/articles/{id}/versions"): "kb-read",
    ("POST", "/console/api/kb/articles/{id}/unpublish"): "kb-edit",
    ("GET", "/console/api/kb/articles/{id}/figures"): "kb-read",
    # The content gaps quote customers' questions to the brand's writers: as kb-edit.
    ("GET", "/console/api/kb/brands/{brand}/gaps"): "kb-edit",
    ("GET", "/console/api/kb/conversations/{id}/articles"): "read",
    ("POST", "/console/api/kb/conversations/{id}/articles/{article_id}/sent"): "act",
    ("POST", "/console/api/kb/conversations/{id}/articles/{article_id}/resolved"): "act",
    ("POST", "/console/api/kb/preview"): "session",
    ("GET", "/console/api/kb/search"): "kb-read",
    ("GET", "/console/api/analytics/brands"): "report",
    ("GET", "/console/api/analytics/definitions"): "session",
    ("GET", "/console/api/analytics/brands/{brand}/summary"): "reports",
    ("GET", "/console/api/analytics/brands/{brand}/series"): "reports",
    ("GET", "/console/api/analytics/brands/{brand}/breakdown"): "reports",
    ("GET", "/console/api/analytics/brands/{brand}/volume"): "reports",
    ("GET", "/console/api/analytics/brands/{brand}/heat-map"): "reports",
    ("GET", "/console/api/analytics/brands/{brand}/handoff-reasons"): "reports",
    ("GET", "/console/api/analytics/brands/{brand}/csat"): "reports",
    ("GET", "/console/api/analytics/brands/{brand}/csat-comments"): "reports",
    ("GET", "/console/api/analytics/brands/{brand}/conversations"): "reports",
    ("GET", "/console/api/analytics/brands/{brand}/agent-time"): "reports",
    ("GET", "/console/api/analytics/brands/{brand}/agent-load"): "reports",
    ("GET", "/console/api/analytics/brands/{brand}/now"): "reports",
    ("GET", "/console/api/analytics/brands/{brand}/at-risk"): "reports",
}
# Routes that are not the console's nor the admin API's, each with how it is guarded.
ELSEWHERE = {
    "/healthz": "public",
    "/readyz": "public",
    "/metrics": "public (operators firewall it)",
    "/openapi.json": "public",
    "/favicon.svg": "public file (the site icon)",
    "/favicon.ico": "public: redirects to the site icon",
    "/api/bot/orders/{number}": "bot API token",
    "/api/webchat/sessions": "widget: per-inbox, rate-limited",
    "/api/webchat/messages/{message_id:int}/attachments/{n:int}": "widget: visitor token",
    "/api/webchat/files": "widget: visitor token",
    "/api/webchat/email-code": "widget: visitor token, rate-limited",
    "/api/webchat/email-code/confirm": "widget: visitor token, five tries a code",
    "/ws/webchat": "widget: visitor token",
    "/widget": "public files (the widget)",
    "/": "public page (the demo shop)",
    "/console": "public page",
    "/console/password": "public page (set a password from an invite or reset link)",
    "/console/static": "public files",
    "/console/ws": "console session (the event matrix below)",
    "/api/kb/search": "public: published articles, rate-limited",
    "/help/{brand}": "public pages (the help center: published articles)",
    "/help/{brand}/{lang}": "public pages (the help center: published articles)",
    "/help/{brand}/{lang}/{slug}": "public pages (the help center: published articles)",
}
# The account pages: a session's cookie only, never a personal API token.
COOKIE_ONLY = frozenset(
    p for _m, p in CONSOLE if p.startswith("/console/api/me/") and p != "/console/api/me/status"
)
# Query strings that make a list or a search look where the other brand's data is, so the
# leak check below has something to find if the filter is wrong.
QUERIES: dict[str, dict[str, str]] = {
    "/console/api/search": {"q": "parcel"},
    "/console/api/bot/review/items": {"status": "all"},
    "/console/api/bot/review/health": {"brand": demo.BRAND_SLUG},
    "/console/api/conversations": {"status": "bot,queued,assigned,resolved"},
    "/console/api/kb/search": {"brand": demo.BRAND_SLUG, "q": "warranty"},
    "/console/api/kb/articles": {"brand": demo.BRAND_SLUG},
    "/console/api/analytics/brands/{brand}/breakdown": {"by": "team"},
}
SAMPLE_BODIES: dict[str, Any] = {
    "/console/api/login": {"email": "nobody@example.test", "password": "wrong"},
    "/console/api/me/status": {"status": "away"},
    # No messages: a 422 for those who may, and nothing is written into the project.
    "/console/api/bot/review/labels": {"messages": [], "intent": "greet"},
    "/console/api/bot/review/ignored": {"messages": []},
    "/console/api/messages/{message_id:int}/bot-flag": {"note": "flagged by the matrix"},
    # Each is refused for its body (422, 404 or 409): nothing changes for the next callers.
    "/console/api/me/password": {"current_password": "wrong", "new_password": "short"},
    "/console/api/me/totp/confirm": {"code": "000000"},
    "/console/api/me/totp/disable": {"code": "000000"},
    "/console/api/me/tokens": {"name": "matrix", "scopes": ["conversations:read"]},
    "/console/api/password-reset": {"email": "nobody@example.test"},
    "/console/api/password-reset/check": {"token": "made-up"},
    "/console/api/password-reset/confirm": {"token": "made-up", "new_password": "short"},
    "/console/api/conversations/{id}/messages": {"text": "hello", "client_id": "matrix-1"},
    "/console/api/conversations/{id}/transfer": {"team_id": "00000000-0000-0000-0000-000000000000"},
    "/console/api/conversations/{id}/merge-contact": {"contact": "nobody@example.test"},
    # {id} is a conversation's, so no agent: a 404 of its own, nothing changes.
    # Not confirmed: a 422 for those who may, and nothing is erased.
    "/console/api/contacts/{id}/erase": {"confirm": False},
    "/console/api/conversations/{id}/notes": {"text": "a note from the matrix"},
    "/console/api/conversations/{id}/labels": {"labels": ["matrix"]},
    "/console/api/conversations/{id}/contact": {"notes": "seen by the matrix"},
    "/console/api/canned-responses/{id}": {"shortcut": "matrix", "title": "M", "text": "m"},
    "/console/api/brands/{brand_id}/texts/{kind}/{language}": {"text": "Au revoir !"},
    "/console/api/people/{id}/access": {
        "brand_id": "00000000-0000-0000-0000-000000000000",
        "roles": ["agent"],
    },
    "/console/api/kb/articles": {"brand": demo.BRAND_SLUG, "language": "en", "title": "Matrix"},
    "/console/api/kb/articles/{id}": {"language": "en", "title": "Changed by the matrix"},
    "/console/api/kb/preview": {"body": "# Matrix"},
    # The bot studio's edits, each refused for its body (the intent exists, or none does, a
    # name is malformed, no such file): the project's files are never written.
    "/console/api/bot/intents": {"name": "greet", "examples": [{"text": "hello"}]},
    "/console/api/bot/examples": {
        "intent": "matrix_no_such_intent",
        "old": "never said",
        "example": {"text": "hello"},
    },
    "/console/api/bot/lists/{kind}": {"name": "matrix", "values": []},
    "/console/api/bot/responses/{name:path}": {"variations": [{"text": "m"}]},
    "/console/api/bot/files/{path:path}": {"text": "version: 3.1"},
    "/console/api/bot/flows": {
        "kind": "rule",
        "name": "matrix",
        "original": "matrix: no such rule",
        "steps": [{"kind": "intent", "name": "greet"}],
    },
    # Refused for their body (422): no training or evaluation starts for the matrix.
    "/console/api/bot/train": {"engine": "matrix"},
    "/console/api/bot/evaluate": {"folds": 1},
    "/console/api/bot/test": {"text": "where is my order?"},
    # The customer's message is no agent's reply: a 404 of its own, nothing is recorded.
    "/console/api/kb/conversations/{id}/articles/{article_id}/sent": {"message_id": 1},
}


def walk(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every route, WebSocket routes as ("WS", path), mounts entered."""
    found: list[tuple[str, str]] = []
    for route in routes:
        if isinstance(route, Mount):
            inner = route.routes
            if inner:
                found += walk(list(inner), prefix + route.path)
            else:
                found.append(("GET", prefix + route.path))
        elif isinstance(route, Route):
            found += [
                (m, prefix + route.path) for m in sorted(route.methods or {"GET"}) if m != "HEAD"
            ]
        elif isinstance(route, WebSocketRoute):
            found.append(("WS", prefix + route.path))
    return found


@dataclass(frozen=True)
class Caller:
    name: str
    # The role held, "admin", or how the cookie is broken: none, tampered, expired, revoked.
    role: str
    # "own": the brand of the conversation tried; "other": the other brand; "team": its brand,
    # in another team than the conversation's (an agent reaches their teams' conversations).
    brand: str = "own"
    cookie: str | None = None
    # A personal API token (Authorization: Bearer) instead of a cookie, with its scopes.
    token: str | None = None
    scopes: tuple[str, ...] = ()

    def headers(self) -> dict[str, str]:
        if self.token:
            return {"authorization": f"Bearer {self.token}"}
        return {"cookie": self.cookie} if self.cookie else {}


def expected(policy: str, caller: Caller, method: str = "GET", path: str = "") -> str:
    """What the caller gets: "401", "403", "404" (the conversation does not exist for them)
    or "allowed" (anything else: 200, 201, a 409 or a 422 about the body)."""
    if policy == "public":
        return "refused"
    if policy == "anyone":
        return "allowed"
    if caller.token:
        # A token never reaches the account pages (it could make more tokens, change the
        # password, turn two-factor off); it reads with conversations:read, writes with
        # conversations:write, and the admin area wants the admin scope.
        if path in COOKIE_ONLY:
            return "401"
        scope = "conversations:read" if method == "GET" else "conversations:write"
        if scope not in caller.scopes if policy != "admin" else "admin" not in caller.scopes:
            return "401"
    if caller.role in ("none", "tampered", "expired", "revoked"):
        return "401"
    if caller.role == "admin" or policy == "session":
        return "allowed"
    if policy == "admin":
        return "403"
    if policy == "design":
        return "allowed" if caller.role == "designer" else "403"
    if policy == "review":
        if caller.role != "designer":
            return "403"
        return "404" if caller.brand == "other" else "allowed"
    if policy in ("kb-read", "kb-edit"):
        if caller.brand == "other":
            return "404"
        allowed = policy == "kb-read" or caller.role in ("supervisor", "editor")
        return "allowed" if allowed else "403"
    if policy == "reports":
        if caller.brand == "other":
            return "404"
        return "allowed" if caller.role in ("supervisor", "analyst") else "403"
    if policy in ("rights", "manage"):
        if caller.brand == "other":
            return "404"
        return "allowed" if caller.role == "supervisor" else "403"
    roles = {"worker": {"supervisor", "agent"}, "act": {"supervisor", "agent"}}.get(
        policy,
        {"supervisor", "analyst"} if policy == "report" else {"supervisor", "agent", "analyst"},
    )
    if caller.role not in roles:
        return "403"
    if policy in ("read", "act") and caller.brand in ("other", "team"):
        return "404"
    return "allowed"


def outcome(response: httpx.Response, policy: str, tried: list[str]) -> str:
    """What the caller got; a 404 is the thing "not existing for them" when it says so of
    what was ``tried`` ("no conversation <id>", "no brand <id>"), not of another lookup (a
    merge with an unknown contact, a transfer to an unknown team)."""
    if policy == "public" and response.status_code in (401, 429):
        return "refused"
    if response.status_code in (401, 403):
        return str(response.status_code)
    error = response.json().get("error", "") if response.status_code == 404 else ""
    if any(error.startswith(t) for t in tried):
        return "404"
    assert response.status_code < 500, response.text
    return "allowed"


def session_cookie(server: RunningServer, data: dict[str, Any], age: int = 0) -> str:
    """A console cookie signed with the server's key, ``age`` seconds old."""

    class Signer(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    signed = Signer(server.services.settings.signing_key()).sign(
        b64encode(json.dumps(data).encode())
    )
    return f"switchboard_console={signed.decode()}"


async def callers(server: RunningServer) -> list[Caller]:
    found = [Caller("no session", "none")]
    admin = await signed_in(server, await person(server, demo.BRAND_SLUG, "admin"))
    found.append(Caller("admin", "admin", cookie=_cookie(admin)))
    for role in ROLES:
        for side, slug in (("own", demo.BRAND_SLUG), ("other", demo.OTHER_BRAND_SLUG)):
            email = await person(server, slug, role, ["support"] if role == "agent" else [])
            http = await signed_in(server, email)
            found.append(Caller(f"{role} ({side} brand)", role, side, _cookie(http)))
            await http.aclose()
    billing = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["billing"]))
    found.append(Caller("agent (own brand, billing team)", "agent", "team", _cookie(billing)))
    await billing.aclose()
    me = (await admin.get("/console/api/me")).json()["agent"]
    good = _cookie(admin)
    found.append(
        Caller(
            "tampered",
            "tampered",
            cookie=good[:-3] + ("abc" if not good.endswith("abc") else "xyz"),
        )
    )
    ttl = server.services.settings.console_session_ttl
    found.append(
        Caller(
            "expired",
            "expired",
            cookie=session_cookie(server, {"agent_id": me["id"], "version": 0}, ttl + 60),
        )
    )
    revoked = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    copied = _cookie(revoked)
    assert (await revoked.post("/console/api/logout")).status_code == 204
    found.append(Caller("revoked", "revoked", cookie=copied))
    # Personal API tokens: an admin's for conversations (read and write) but not the admin
    # scope, and an agent's that only reads.
    conversations = ("conversations:read", "conversations:write")
    found.append(
        Caller(
            "admin's conversations token",
            "admin",
            token=await _token(admin, conversations),
            scopes=conversations,
        )
    )
    reader = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    found.append(
        Caller(
            "agent's read-only token",
            "agent",
            token=await _token(reader, ("conversations:read",)),
            scopes=("conversations:read",),
        )
    )
    await admin.aclose()
    await revoked.aclose()
    await reader.aclose()
    return found


async def _token(http: httpx.AsyncClient, scopes: tuple[str, ...]) -> str:
    made = await http.post(
        "/console/api/me/tokens", json={"name": "matrix", "scopes": list(scopes)}
    )
    assert made.status_code == 201, made.text
    return str(made.json()["secret"])


def _cookie(http: httpx.AsyncClient) -> str:
    return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


async def fresh_canned(server: RunningServer, brand: Brand) -> str:
    """A canned response of the brand, made for one cell (an allowed DELETE removes it)."""
    async with server.services.pool.acquire() as conn:
        value = await conn.fetchval(
            "INSERT INTO canned_responses (brand_id, shortcut, title, text)"
            " SELECT brand_id, 'c' || substr(md5(random()::text), 1, 12), 'T', 'text'"
            " FROM conversations WHERE id = $1::uuid RETURNING id::text",
            brand.conversation_id,
        )
    return str(value)


async def fresh_article(server: RunningServer) -> str:
    """A knowledge-base article of the demo brand (the shop's), made for one cell."""
    kb = server.services.kb
    assert kb is not None
    draft = Draft("en", "", f"Matrix {uuid.uuid4().hex[:8]}", "Made for one cell.", "", [], "draft")
    return str((await kb.create(demo.BRAND_SLUG, draft, Author(None, "matrix"))).id)


async def body_for(server: RunningServer, path: str, brand: Brand) -> Any:
    if path == "/console/api/canned-responses":
        async with server.services.pool.acquire() as conn:
            brand_id = await conn.fetchval(
                "SELECT brand_id::text FROM conversations WHERE id = $1::uuid",
                brand.conversation_id,
            )
        return {"brand_id": brand_id, "shortcut": "matrix", "title": "M", "text": "m"}
    return SAMPLE_BODIES.get(path)


def concrete(path: str, brand: Brand, canned_id: str = "", brand_id: str = "") -> str:
    if path.startswith("/console/api/brands/"):
        return (
            path.replace("{brand_id}", brand_id or "00000000-0000-0000-0000-000000000000")
            .replace("{kind}", "closing")
            .replace("{language}", "fr")
        )
    if path.startswith("/console/api/contacts/"):
        return path.replace("{id}", brand.contact_id)
    if path.startswith(("/console/api/canned-responses/", "/console/api/kb/articles/")):
        return path.replace("{id}", canned_id)
    return (
        path.replace("{id}", brand.conversation_id)
        .replace("{article_id}", canned_id)
        .replace("{brand}", brand.slug)
        .replace("{message_id:int}", str(brand.message_id))
        .replace("{n:int}", "0")
        .replace("{version_id:int}", "999999")
    )


@dataclass(frozen=True)
class Secrets:
    """Strings only the shop brand's data holds: what no caller who may not see it must
    find in any answer they get, whatever the route."""

    conversation: tuple[str, ...]  # its customer's conversation (for non-readers too)
    brand: tuple[str, ...]  # and the rest of the brand (for the other brand's people)
    draft: str  # a draft article's title (the public pages show published ones only)
    published_slug: str


async def shop_secrets(server: RunningServer, shop: Brand) -> Secrets:
    kb = server.services.kb
    assert kb is not None
    author = Author(None, "matrix")
    published = await kb.create(
        demo.BRAND_SLUG,
        Draft(
            "en",
            "",
            "Warranty claims for parcels",
            "Our warranty covers parcels.",
            "",
            [],
            "published",
        ),
        author,
    )
    draft = await kb.create(
        demo.BRAND_SLUG,
        Draft(
            "en", "", "Warranty secretdraft plans", "A warranty draft not yet out.", "", [], "draft"
        ),
        author,
    )
    async with server.services.pool.acquire() as conn:
        teams = await conn.fetch(
            "SELECT t.id::text AS id FROM teams t JOIN brands b ON b.id = t.brand_id"
            " WHERE b.slug = $1",
            demo.BRAND_SLUG,
        )
        canned = await conn.fetchval(
            "INSERT INTO canned_responses (brand_id, shortcut, title, text)"
            " SELECT id, 'shoponlycanned', 'Shop only', 'shop only' FROM brands WHERE slug = $1"
            " RETURNING shortcut",
            demo.BRAND_SLUG,
        )
    conversation = (
        shop.conversation_id,
        shop.contact_id,
        "my parcel is late",
        f"Customer of {demo.WEBCHAT_INBOX}",
    )
    brand = (
        *conversation,
        *(r["id"] for r in teams),
        str(published.id),
        str(draft.id),
        "secretdraft",
        str(canned),
        *(f"{role} of {demo.BRAND_SLUG}" for role in ROLES),
    )
    return Secrets(conversation, brand, "secretdraft", published.slug)


def hidden_from(caller: Caller, secrets: Secrets, path: str = "") -> tuple[str, ...]:
    """What the caller must never be shown: the shop's data for the other brand's people, its
    conversation for roles that read none and for an agent of another team."""
    if caller.role not in ROLES:
        return ()
    if caller.brand == "other":
        return secrets.brand
    if caller.role == "designer" and path.startswith("/console/api/bot/review/"):
        return ()  # a designer reviews the bot's mistakes in their brands (docs/access.md)
    if caller.brand == "team" or caller.role in ("designer", "editor"):
        return secrets.conversation
    return ()


async def test_every_console_and_admin_route_answers_each_caller_as_the_matrix_says(
    server: RunningServer,
) -> None:
    table = walk(create_app(server.services).routes)
    unknown = [
        (m, p)
        for m, p in table
        if (m, p) not in CONSOLE and p not in ELSEWHERE and not p.startswith("/api/admin/")
    ]
    assert not unknown, f"routes with no entry in the access matrix: {unknown}"
    shop, outdoor = await two_brands(server)
    shop_brand = (await body_for(server, "/console/api/canned-responses", shop))["brand_id"]
    secrets = await shop_secrets(server, shop)
    people = await callers(server)
    cells, leaks, wrong = 0, 0, []
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        # Reads before acts; logout last (it ends the admin's session).
        order = sorted(CONSOLE.items(), key=lambda kv: (kv[1] == "act", "logout" in kv[0][1]))
        for (method, path), policy in order:
            for caller in people:
                if (
                    "logout" in path
                    and caller.cookie
                    and caller.role
                    not in (
                        "none",
                        "tampered",
                        "expired",
                        "revoked",
                    )
                ):
                    continue  # checked in test_sessions; here it would end the sessions used below
                canned = await fresh_canned(server, shop) if "canned-responses/" in path else ""
                if "/kb/articles/" in path or "{article_id}" in path:
                    canned = await fresh_article(server)
                response = await http.request(
                    method,
                    concrete(path, shop, canned, shop_brand),
                    params=QUERIES.get(path),
                    json=await body_for(server, path, shop),
                    headers=caller.headers(),
                )
                tried = [
                    f"no {label} {value}"
                    for label, value in (
                        ("conversation", shop.conversation_id),
                        ("message", shop.message_id),
                        ("contact", f"'{shop.contact_id}'"),
                        ("canned response", f"'{canned}'"),
                        ("brand", shop_brand),
                        ("article", f"'{canned}'"),
                        ("brand", f"'{demo.BRAND_SLUG}'"),
                    )
                ]
                got = outcome(response, policy, tried)
                want = expected(policy, caller, method, path)
                cells += 1
                if got != want:
                    wrong.append(f"{method} {path} as {caller.name}: {got}, not {want}")
                if got == "allowed" and response.status_code < 300:
                    # Let in: it must not show what the caller may not see (a list, a search,
                    # an overview filtered wrongly would).
                    text = response.text.lower()
                    shown = [n for n in hidden_from(caller, secrets, path) if n.lower() in text]
                    leaks += 1
                    if shown:
                        wrong.append(f"{method} {path} as {caller.name} shows {shown}")
        admin_routes = [(m, p) for m, p in table if p.startswith("/api/admin/")]
        admin_cookie = next(c.cookie for c in people if c.role == "admin" and c.cookie)
        tokens = [c for c in people if c.token]
        for method, path in admin_routes:
            concrete_path = path.replace("{", "x").replace("}", "")
            for name, headers in (
                ("no token", {}),
                ("wrong token", {"authorization": "Bearer not-the-token"}),
                ("console cookie", {"cookie": admin_cookie or ""}),
                *((t.name, t.headers()) for t in tokens),
            ):
                response = await http.request(method, concrete_path, headers=headers)
                cells += 1
                if response.status_code != 401:
                    wrong.append(f"{method} {path} with {name}: {response.status_code}")
        # CSRF: every state-changing console route, with the admin's cookie, from another
        # site: a cross-origin fetch, a form post (no Origin, Sec-Fetch-Site says so).
        for method, path in CONSOLE:
            if method in ("GET", "HEAD"):
                continue
            for name, headers in (
                ("cross-origin fetch", {"origin": "https://evil.example"}),
                ("cross-site form", {"sec-fetch-site": "cross-site"}),
                ("widget's embedding site", {"origin": "http://allowed.test"}),
            ):
                response = await http.request(
                    method,
                    concrete(path, shop, "00000000-0000-0000-0000-000000000000"),
                    content=b"text=hi&client_id=x",
                    headers={
                        **headers,
                        "cookie": admin_cookie or "",
                        "content-type": "application/x-www-form-urlencoded",
                    },
                )
                cells += 1
                if response.status_code != 403:
                    wrong.append(f"{method} {path} by {name}: {response.status_code}")
        elsewhere = await elsewhere_cells(server, http, shop, outdoor, secrets, wrong)
    assert not wrong, "\n".join(wrong)
    print(
        f"access matrix: {cells + elsewhere} HTTP cells checked"
        f" ({leaks} answers scanned for the other brand's data, {elsewhere} outside the"
        " console and admin API)"
    )
    assert cells > 300


async def elsewhere_cells(
    server: RunningServer,
    http: httpx.AsyncClient,
    shop: Brand,
    outdoor: Brand,
    secrets: Secrets,
    wrong: list[str],
) -> int:
    """The routes outside the console and the admin API, each tried as its guard says: the
    token-guarded ones without a token (401) and with the other brand's visitor (404), the
    public knowledge base for drafts and the other brand's articles."""
    attachment = f"/api/webchat/messages/{shop.message_id}/attachments/0"
    visitor = await http.post("/api/webchat/sessions", json={"inbox": demo.OTHER_WEBCHAT_INBOX})
    assert visitor.status_code in (200, 201), visitor.text
    other_visitor = {"authorization": f"Bearer {visitor.json()['token']}"}
    published = f"/help/{demo.BRAND_SLUG}/en/{secrets.published_slug}"
    bot = 404 if server.services.settings.bot_api_token is None else 401
    checks: list[tuple[str, str, dict[str, str], dict[str, str], int, str]] = [
        # method, path, headers, query, status wanted, text it must not hold
        ("GET", "/healthz", {}, {}, 200, ""),
        ("GET", "/openapi.json", {}, {}, 200, ""),
        # 401 without the bot's token; 404 while the bot API is off (no token configured).
        ("GET", "/api/bot/orders/1001", {}, {}, bot, ""),
        ("GET", "/api/bot/orders/1001", {"authorization": "Bearer wrong"}, {}, bot, ""),
        ("GET", attachment, {}, {}, 401, ""),
        ("GET", attachment, other_visitor, {}, 404, ""),
        ("POST", "/api/webchat/files", {}, {}, 401, ""),
        ("POST", "/api/webchat/email-code", {}, {}, 401, ""),
        ("POST", "/api/webchat/email-code/confirm", {}, {}, 401, ""),
        ("GET", published, {}, {}, 200, secrets.draft),
        ("GET", f"/help/{demo.BRAND_SLUG}/en", {}, {}, 200, secrets.draft),
        ("GET", f"/help/{demo.BRAND_SLUG}", {}, {}, 302, ""),  # to its language's page
        ("GET", f"/help/{demo.OTHER_BRAND_SLUG}/en/{secrets.published_slug}", {}, {}, 404, ""),
        (
            "GET",
            "/api/kb/search",
            {},
            {"brand": demo.BRAND_SLUG, "q": "warranty secretdraft"},
            200,
            secrets.draft,
        ),
        (
            "GET",
            "/api/kb/search",
            {},
            {"brand": demo.OTHER_BRAND_SLUG, "q": "warranty parcels"},
            200,
            secrets.published_slug,
        ),
    ]
    for method, path, headers, query, status, hidden in checks:
        response = await http.request(method, path, headers=headers, params=query)
        if response.status_code != status:
            wrong.append(f"{method} {path} {query}: {response.status_code}, not {status}")
        elif hidden and hidden.lower() in response.text.lower():
            wrong.append(f"{method} {path} {query} shows {hidden!r}")
    assert outdoor.conversation_id  # the other brand's own conversation exists: not empty
    return len(checks)


# Every event name the server publishes (server/events.py's constants).
EVENT_NAMES = sorted(v for k, v in vars(events).items() if k.isupper() and isinstance(v, str))


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_each_event_reaches_only_the_consoles_that_may_see_its_conversation(name: str) -> None:
    shop, other = "brand-shop", "brand-outdoor"
    where = Placement(shop, "team-support", None)
    agent_payload: dict[str, Any] = {
        "id": "a-colleague",
        "role": "member",
        "roles": {shop: ["agent"]},
    }
    event: dict[str, Any] = {
        "id": 1,
        "name": name,
        "conversation_id": "" if name == events.AGENT_UPDATED else "c1",
        "data": {"agent": agent_payload} if name == events.AGENT_UPDATED else {},
    }
    agent_view = agent_payload if name == events.AGENT_UPDATED else None
    cells = 0
    for role in ("admin", *ROLES):
        # The conversation's brand and team; the other brand; its brand in another team.
        sides = (("own", shop, "team-support"), ("other", other, ""), ("team", shop, "team-x"))
        for side, brand, team in sides:
            viewer = Agent(
                id="viewer",
                email="v@example.test",
                name="V",
                admin=role == "admin",
                roles={} if role == "admin" else {brand: frozenset({role})},
                teams=frozenset({team}) if team else frozenset(),
            )
            got = _may_receive(viewer, event, where, where, agent_view)
            if role == "admin":
                want = True
            elif name == events.AGENT_UPDATED:
                want = side != "other"  # a colleague of the same brand
            elif side == "team":
                want = role in ("supervisor", "analyst")  # the whole brand's, not an agent
            else:
                want = side == "own" and role in ("supervisor", "agent", "analyst")
            assert got == want, (name, role, side)
            cells += 1
    assert cells == 3 * (1 + len(ROLES))


async def test_the_console_socket_refuses_every_caller_without_a_live_session(
    server: RunningServer,
) -> None:
    """The socket's row of the matrix for callers without a live session: no cookie, a
    tampered, an expired or a revoked one are closed with 4401 before any event; another
    site's page is refused before the upgrade."""
    await demo.seed_other_brand(server.services.pool)
    people = await callers(server)
    broken = [c for c in people if c.role in ("none", "tampered", "expired", "revoked")]
    assert len(broken) == 4
    for caller in broken:
        headers = caller.headers()
        async with connect(f"{server.ws_url}/console/ws", additional_headers=headers) as ws:
            assert (await close_code(ws))[0] == 4401, caller.name
    admin = next(c for c in people if c.role == "admin")
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            f"{server.ws_url}/console/ws",
            additional_headers={"cookie": admin.cookie or "", "origin": "https://evil.example"},
        ):
            pass
    assert refused.value.response.status_code == 403
