"""Who a widget visitor is, and who vouches for it: pure checks, no I/O.

A name or email typed into the widget is *self-asserted*: anyone can type anyone's address, so
it never joins a visitor to an existing contact. The embedding site can vouch for a signed-in
user instead, as Intercom's identity verification and Chatwoot's ``identifier_hash`` do: it
passes the user's ``identifier`` (its user id or email) and ``identifier_hash``, the hex
HMAC-SHA256 of the identifier made on its server with the inbox's identity secret. The secret
never reaches the browser, so only the site can make a hash that matches. See
``docs/webchat-identity.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# An email address as an identifier: the site vouches for that address, so the visitor joins
# the verified contact that holds it. Deliberately loose (the site, not us, knows its users).
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HASH = re.compile(r"^[0-9a-fA-F]{64}$")


def identifier_hash(secret: str, identifier: str) -> str:
    """The hex HMAC-SHA256 of ``identifier`` with ``secret``, as the embedding site makes it."""
    return hmac.new(secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()


def hash_matches(secret: str, identifier: str, given: str) -> bool:
    """Whether ``given`` is the identifier's hash; compared in constant time, so the time an
    answer takes says nothing about how much of a guess was right."""
    expected = identifier_hash(secret, identifier).encode()
    return hmac.compare_digest(expected, given.strip().lower().encode())


def email_of(identifier: str) -> str | None:
    """The identifier itself when it is an email address (then the address is verified)."""
    return identifier if _EMAIL.match(identifier) else None


# A one-time code mailed to an address the visitor typed proves it (docs/webchat-identity.md):
# six digits, as sign-in codes commonly are; ten minutes to type it; five wrong tries and the
# code is void, so a guess succeeds once in 200,000 codes, and codes are rate-limited.
CODE_DIGITS = 6
CODE_TTL_SECONDS = 600
CODE_ATTEMPTS = 5
CODE = re.compile(rf"^[0-9]{{{CODE_DIGITS}}}$")


def new_code() -> str:
    """A random code of CODE_DIGITS digits, from the system's cryptographic source."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(visitor_id: str, code: str) -> str:
    """What is stored of a code: never the code itself, and bound to its visitor."""
    return hashlib.sha256(f"{visitor_id}:{code}".encode()).hexdigest()


def code_matches(visitor_id: str, code: str, digest: str) -> bool:
    return hmac.compare_digest(code_digest(visitor_id, code).encode(), digest.encode())
