"""How account secrets are kept: passwords argon2-hashed off the event loop; the random
secrets a client holds (session cookies, links, recovery codes, API tokens) as SHA-256.

A password is chosen by a person and may be guessable, so it gets argon2's deliberate cost;
the others are 32 random bytes (recovery codes 80 bits), past guessing, so a fast hash is
enough to make a copy of the database useless for signing in.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# What "now" is for sessions, links and tokens; tests move it.
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the email is unknown keeps login time the same either way,
    so timing does not reveal which emails are agents. Made at the first login, not at import
    (a hash costs the server's start up to two seconds on a busy machine)."""
    return _hasher.hash("not-a-real-password")


async def hash_password(password: str) -> str:
    # argon2 costs tens of milliseconds of CPU by design: off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def password_matches(stored: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from; with None, the same work
    against a dummy hash, and False."""

    def verify() -> bool:
        # An unknown email, or an invited agent with no password yet, costs the same work as
        # a real check: timing tells nobody which accounts exist.
        real = stored if stored is not None and stored.startswith("$argon2") else None
        try:
            return _hasher.verify(real or _dummy_hash(), password) and real is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def unusable_password() -> str:
    """A password hash no password matches (an invited agent's until they set one)."""
    return "!unset-" + secrets.token_hex(16)


def new_secret() -> str:
    """32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()
