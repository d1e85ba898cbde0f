"""Signed, expiring visitor tokens (itsdangerous): who the visitor is, and in which inbox."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer


class TokenError(Exception):
    """The token is missing, tampered with, expired or malformed; ``str()`` says which."""


@dataclass(frozen=True, slots=True)
class VisitorClaims:
    """Who the token's holder is. ``identifier``: the embedding site's user the visitor was
    verified as; a later session resumes this visitor only for that same user, so a shared
    browser whose user signed out starts afresh instead of seeing their history."""

    visitor_id: str
    inbox_address: str
    identifier: str | None = None


class VisitorTokens:
    """Issues and checks visitor tokens with the server's secret and a lifetime in seconds."""

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="switchboard.webchat.visitor")
        # Checked with the signer itself: the serializer's loads() also turns the signing
        # time into an aware datetime, which nothing here reads; a reconnect storm verifies
        # thousands of tokens a second, and that was half of each check's 35 us.
        signer = self._serializer.make_signer()
        assert isinstance(signer, TimestampSigner)
        self._signer = signer
        self.ttl_seconds = ttl_seconds

    def issue(self, claims: VisitorClaims) -> str:
        data = {"v": claims.visitor_id, "i": claims.inbox_address}
        if claims.identifier is not None:
            data["u"] = claims.identifier
        return self._serializer.dumps(data)

    def verify(self, token: str) -> VisitorClaims:
        try:
            data = self._serializer.load_payload(
                self._signer.unsign(token, max_age=self.ttl_seconds)
            )
        except SignatureExpired:
            raise TokenError("token expired") from None
        except BadData:
            raise TokenError("token invalid") from None
        if not (
            isinstance(data, dict)
            and isinstance(data.get("v"), str)
            and isinstance(data.get("i"), str)
            and isinstance(data.get("u"), str | None)
        ):
            raise TokenError("token invalid")
        return VisitorClaims(data["v"], data["i"], data.get("u"))
