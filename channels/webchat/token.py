"""Signed, expiring visitor tokens (itsdangerous): who the visitor is, and in which inbox."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class TokenError(Exception):
    """The token is missing, tampered with, expired or malformed; ``str()`` says which."""


@dataclass(frozen=True, slots=True)
class VisitorClaims:
    visitor_id: str
    inbox_address: str


class VisitorTokens:
    """Issues and checks visitor tokens with the server's secret and a lifetime in seconds."""

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="switchboard.webchat.visitor")
        self.ttl_seconds = ttl_seconds

    def issue(self, claims: VisitorClaims) -> str:
        return self._serializer.dumps({"v": claims.visitor_id, "i": claims.inbox_address})

    def verify(self, token: str) -> VisitorClaims:
        try:
            data = self._serializer.loads(token, max_age=self.ttl_seconds)
        except SignatureExpired:
            raise TokenError("token expired") from None
        except BadSignature:
            raise TokenError("token invalid") from None
        if not (
            isinstance(data, dict)
            and isinstance(data.get("v"), str)
            and isinstance(data.get("i"), str)
        ):
            raise TokenError("token invalid")
        return VisitorClaims(visitor_id=data["v"], inbox_address=data["i"])
