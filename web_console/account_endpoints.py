"""The console's account endpoints: an agent's sessions, password, two-factor sign-in and API
tokens (``/console/api/me/...``, a signed-in browser only, never an API token), and the
public password reset and invite links (``/console/api/password-reset...``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console.account_port import WrongPassword
from web_console.requests import ask, client_of, console_of, current_session, parse_body

# What the reset request answers, whatever the email: nobody learns who has an account.
RESET_REQUESTED = "if this email belongs to an account, a link to reset its password is on its way"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PasswordChange(_Body):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class ResetRequest(_Body):
    email: str = Field(min_length=3, max_length=320)


class LinkToken(_Body):
    token: str = Field(min_length=1, max_length=200)


class LinkPassword(LinkToken):
    new_password: str = Field(min_length=1, max_length=1024)


class Code(_Body):
    # 6 digits from the app, or a recovery code ("abcd-efgh-ijkl-mnop").
    code: str = Field(min_length=1, max_length=64)


class NewToken(_Body):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Literal["conversations:read", "conversations:write", "admin"]] = Field(
        min_length=1
    )
    expires_in_days: int = Field(default=90, ge=1, le=366)


def _throttled(request: Request, email: str) -> None:
    """429 when the login throttle holds this account or address back: a wrong current
    password or code counts as a failed login."""
    address = client_of(request).address or "unknown"
    wait = console_of(request).throttle.retry_after(email, address)
    if wait is not None:
        raise HTTPException(
            429, "too many failed attempts; try again later", {"retry-after": str(wait)}
        )


def _wrong(request: Request, email: str, exc: WrongPassword) -> HTTPException:
    console_of(request).throttle.failed(email, client_of(request).address or "unknown")
    return HTTPException(403, str(exc))


async def list_sessions(request: Request) -> Response:
    """
    summary: Your signed-in browsers
    description: Each with its device (user agent), address, when it began and was last
      seen; `current` is the one asking.
    responses:
      200: {description: the sessions, most recently seen first}
      401: {description: not logged in}
    """
    live = await current_session(request)
    found = await console_of(request).accounts.sessions.sessions(live.agent, live.id)
    return JSONResponse({"sessions": found})


async def end_session(request: Request) -> Response:
    """
    summary: Sign one of your sessions out
    responses:
      204: {description: it has ended and its open console is closed}
      401: {description: not logged in}
      404: {description: no such live session of yours}
    """
    live = await current_session(request)
    console = console_of(request)
    session_id = str(request.path_params["id"])
    await ask(console.accounts.sessions.end_session(live.agent, session_id, client_of(request)))
    await console.hub.disconnect_session(session_id)
    if session_id == live.id:
        request.session.clear()
    return Response(status_code=204)


async def end_other_sessions(request: Request) -> Response:
    """
    summary: Sign out everywhere else
    responses:
      200: {description: how many sessions ended}
      401: {description: not logged in}
    """
    live = await current_session(request)
    console = console_of(request)
    ended = await console.accounts.sessions.end_other_sessions(
        live.agent, live.id, client_of(request)
    )
    for session_id in ended:
        await console.hub.disconnect_session(session_id)
    return JSONResponse({"ended": len(ended)})


async def change_password(request: Request) -> Response:
    """
    summary: Change your password
    description: >
      The new password has at least 12 characters, is not your email and is not a common
      password (the 422 says which rule it breaks). Your other sessions end.
    body: PasswordChange
    responses:
      200: {description: changed; how many other sessions ended}
      401: {description: not logged in}
      403: {description: the current password is wrong}
      422: {description: the new password breaks the policy}
      429: {description: too many wrong passwords; see Retry-After}
    """
    live = await current_session(request)
    body = parse_body(PasswordChange, await request.body())
    _throttled(request, live.agent.email)
    console = console_of(request)
    try:
        ended = await ask(
            console.accounts.passwords.change_password(
                live.agent, body.current_password, body.new_password, live.id, client_of(request)
            )
        )
    except WrongPassword as exc:
        raise _wrong(request, live.agent.email, exc) from None
    for session_id in ended:
        await console.hub.disconnect_session(session_id)
    return JSONResponse({"sessions_ended": len(ended)})


async def request_reset(request: Request) -> Response:
    """
    summary: Ask for a password reset link by mail
    description: The answer is the same whether the email has an account or not.
    body: ResetRequest
    responses:
      202: {description: a link is mailed if the email has an account}
      422: {description: invalid field}
    """
    body = parse_body(ResetRequest, await request.body())
    await console_of(request).accounts.passwords.request_reset(body.email, client_of(request))
    return JSONResponse({"status": RESET_REQUESTED}, status_code=202)


async def check_link(request: Request) -> Response:
    """
    summary: What an invite or reset link is for
    body: LinkToken
    responses:
      200: {description: "the account's email and name, the link's purpose and expiry"}
      404: {description: the link was used, has expired or is unknown}
    """
    body = parse_body(LinkToken, await request.body())
    return JSONResponse(await ask(console_of(request).accounts.passwords.link(body.token)))


async def set_password_by_link(request: Request) -> Response:
    """
    summary: Set your password from an invite or reset link
    description: The link works once; every session of the account ends.
    body: LinkPassword
    responses:
      200: {description: the password is set; log in with it}
      404: {description: the link was used, has expired or is unknown}
      422: {description: the new password breaks the policy}
    """
    body = parse_body(LinkPassword, await request.body())
    console = console_of(request)
    agent = await ask(
        console.accounts.passwords.set_password_by_link(
            body.token, body.new_password, client_of(request)
        )
    )
    await console.hub.disconnect_agent(agent.id)
    return JSONResponse({"email": agent.email})


async def totp_state(request: Request) -> Response:
    """
    summary: Whether two-factor sign-in is on
    responses:
      200: {description: "enabled, and how many recovery codes are left"}
      401: {description: not logged in}
    """
    live = await current_session(request)
    return JSONResponse(await console_of(request).accounts.totp.totp(live.agent))


async def begin_totp(request: Request) -> Response:
    """
    summary: Start setting up two-factor sign-in
    description: A new secret, as text, an otpauth URI and an SVG QR code for the app; it is
      turned on once a code from it is confirmed.
    responses:
      201: {description: the secret to enrol}
      401: {description: not logged in}
      409: {description: two-factor sign-in is already on}
    """
    live = await current_session(request)
    enrolment = await console_of(request).accounts.totp.begin_totp(live.agent)
    return JSONResponse(enrolment, status_code=201)


async def confirm_totp(request: Request) -> Response:
    """
    summary: Turn two-factor sign-in on with a code from the app
    body: Code
    responses:
      200: {description: on; ten single-use recovery codes, shown this once}
      401: {description: not logged in}
      409: {description: already on, or not set up}
      422: {description: wrong code}
    """
    live = await current_session(request)
    body = parse_body(Code, await request.body())
    codes = await ask(
        console_of(request).accounts.totp.confirm_totp(live.agent, body.code, client_of(request))
    )
    return JSONResponse({"recovery_codes": codes})


async def disable_totp(request: Request) -> Response:
    """
    summary: Turn two-factor sign-in off with a code (or a recovery code)
    body: Code
    responses:
      204: {description: off}
      401: {description: not logged in}
      403: {description: wrong code}
      409: {description: it is off}
      429: {description: too many wrong codes; see Retry-After}
    """
    live = await current_session(request)
    body = parse_body(Code, await request.body())
    _throttled(request, live.agent.email)
    try:
        await console_of(request).accounts.totp.disable_totp(
            live.agent, body.code, client_of(request)
        )
    except WrongPassword as exc:
        raise _wrong(request, live.agent.email, exc) from None
    return Response(status_code=204)


async def list_tokens(request: Request) -> Response:
    """
    summary: Your personal API tokens (never their secrets)
    responses:
      200: {description: the live tokens, newest first}
      401: {description: not logged in}
    """
    live = await current_session(request)
    return JSONResponse({"tokens": await console_of(request).accounts.tokens.tokens(live.agent)})


async def create_token(request: Request) -> Response:
    """
    summary: Make a personal API token
    description: >
      Scopes: conversations:read, conversations:write (the console API as you, with
      `Authorization: Bearer <token>`), admin (the admin API; admins only). The secret is in
      this answer only.
    body: NewToken
    responses:
      201: {description: "the token, and its secret: shown this once"}
      401: {description: not logged in}
      403: {description: only admins may hold the admin scope}
      409: {description: too many live tokens}
      422: {description: invalid field}
    """
    live = await current_session(request)
    body = parse_body(NewToken, await request.body())
    view, secret = await ask(
        console_of(request).accounts.tokens.create_token(
            live.agent, body.name, body.scopes, body.expires_in_days, client_of(request)
        )
    )
    return JSONResponse({"token": view, "secret": secret}, status_code=201)


async def revoke_token(request: Request) -> Response:
    """
    summary: Revoke one of your API tokens
    responses:
      204: {description: it no longer works}
      401: {description: not logged in}
      404: {description: no such live token of yours}
    """
    live = await current_session(request)
    token_id = str(request.path_params["id"])
    await ask(
        console_of(request).accounts.tokens.revoke_token(live.agent, token_id, client_of(request))
    )
    return Response(status_code=204)
