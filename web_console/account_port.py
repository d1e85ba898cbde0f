"""What the console's account pages need from the server: an agent's sessions, passwords
(change, reset and invite links), the TOTP second factor and personal API tokens.

Refusals are the console port's exceptions (``web_console.port``): Unknown (404), BadValue
(422, e.g. a password the policy refuses, with the reason), ActionRefused (409); and
WrongPassword here (a wrong current password or code: 403, and a failure the login throttle
counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypedDict

from web_console.port import Agent, Client

# What a personal API token may be used for.
SCOPES = ("conversations:read", "conversations:write", "admin")


class WrongPassword(Exception):
    """The current password (or the code) given to confirm a change is wrong: HTTP 403."""


class SessionView(TypedDict):
    id: str
    created_at: str
    last_seen_at: str
    user_agent: str
    address: str | None
    # The session the request came with.
    current: bool


class LinkView(TypedDict):
    """What an invite or reset link is for, shown on the page that sets the password."""

    email: str
    name: str
    purpose: str  # "invite" or "reset"
    expires_at: str


class TotpView(TypedDict):
    enabled: bool
    recovery_codes_left: int


class TotpEnrolment(TypedDict):
    """A secret being enrolled: for an authenticator app, as text, an otpauth URI and a QR
    code (SVG)."""

    secret: str
    uri: str
    qr_svg: str


class TokenView(TypedDict):
    id: str
    name: str
    # The token's first characters, to tell it apart.
    hint: str
    scopes: list[str]
    created_at: str
    expires_at: str
    last_used_at: str | None


class SessionDirectory(Protocol):
    """An agent's own sessions."""

    async def sessions(self, agent: Agent, current: str) -> list[SessionView]:
        """The agent's live sessions, most recently seen first; ``current`` is the session id
        the request came with."""
        ...

    async def end_session(self, agent: Agent, session_id: str, client: Client) -> None:
        """End one of the agent's sessions; raise Unknown when it is not theirs or not live."""
        ...

    async def end_other_sessions(self, agent: Agent, keep: str, client: Client) -> list[str]:
        """End every session of the agent but ``keep``; the ids ended."""
        ...


class Passwords(Protocol):
    """Changing a password, and setting one from an invite or reset link."""

    async def change_password(
        self, agent: Agent, current: str, new: str, keep: str, client: Client
    ) -> list[str]:
        """Set a new password (BadValue: the policy's reason; WrongPassword); every other
        session ends. Returns the ids of the sessions ended."""
        ...

    async def request_reset(self, email: str, client: Client) -> None:
        """Mail a reset link when the email is an active agent's; nothing otherwise (the
        caller answers the same either way)."""
        ...

    async def link(self, token: str) -> LinkView:
        """What a live link is for; raise Unknown when it is used, expired or made up."""
        ...

    async def set_password_by_link(self, token: str, new: str, client: Client) -> Agent:
        """Spend the link and set its agent's password; every session of theirs ends. Raise
        Unknown or BadValue."""
        ...


class SecondFactor(Protocol):
    """Optional TOTP (RFC 6238) with single-use recovery codes."""

    async def totp(self, agent: Agent) -> TotpView: ...

    async def begin_totp(self, agent: Agent) -> TotpEnrolment:
        """A new secret to enrol; raise ActionRefused when one is already in use."""
        ...

    async def confirm_totp(self, agent: Agent, code: str, client: Client) -> list[str]:
        """Turn the enrolled secret on once a code from it is right (BadValue otherwise);
        returns ten recovery codes, shown this once."""
        ...

    async def disable_totp(self, agent: Agent, code: str, client: Client) -> None:
        """Turn the second factor off with a current code or a recovery code."""
        ...


class ApiTokens(Protocol):
    """Personal API tokens: scoped, expiring, revocable, shown once."""

    async def tokens(self, agent: Agent) -> list[TokenView]: ...

    async def create_token(
        self, agent: Agent, name: str, scopes: Sequence[str], days: int, client: Client
    ) -> tuple[TokenView, str]:
        """A new token and its secret (never shown again); raise BadValue or ActionRefused
        (an agent who is no admin asking for ``admin``; too many tokens)."""
        ...

    async def revoke_token(self, agent: Agent, token_id: str, client: Client) -> None:
        """Raise Unknown when it is not one of the agent's live tokens."""
        ...

    async def token_agent(self, secret: str, scope: str) -> Agent | None:
        """The active agent holding this live token when it carries ``scope``."""
        ...


@dataclass(frozen=True, slots=True)
class Accounts:
    """The account services the console's handlers use."""

    sessions: SessionDirectory
    passwords: Passwords
    totp: SecondFactor
    tokens: ApiTokens
