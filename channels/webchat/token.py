"""Signed, expiring visitor tokens (itsdangerous): who the visitor is, and in which inbox."""

from __future__ import annotations

import hashlib
import hmac
import struct
import time
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, bytes_to_int


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
        # SHA-1 named here as the function hashlib gives (itsdangerous' default is a wrapper of
        # it): the same tokens, and hmac takes OpenSSL's HMAC for a function of hashlib's.
        self._serializer = URLSafeTimedSerializer(
            secret,
            salt="switchboard.webchat.visitor",
            signer_kwargs={"digest_method": hashlib.sha1},
        )
        signer = self._serializer.make_signer()
        assert isinstance(signer, TimestampSigner)
        # The check is TimestampSigner.unsign's, but for two costs of each (a reconnect storm
        # checks thousands of tokens a second): itsdangerous derives the signing key from the
        # secret again and starts an HMAC with it for every token; here the key is derived
        # once and each check copies an HMAC that has absorbed it. The payload is read with
        # orjson (``_decoded``). The serializer's loads() also turned the signing time into an
        # aware datetime, which nothing here reads.
        self._mac = hmac.new(signer.derive_key(), digestmod=signer.digest_method)
        self.ttl_seconds = ttl_seconds

    def issue(self, claims: VisitorClaims) -> str:
        data = {"v": claims.visitor_id, "i": claims.inbox_address}
        if claims.identifier is not None:
            data["u"] = claims.identifier
        return self._serializer.dumps(data)

    def verify(self, token: str) -> VisitorClaims:
        data = self._payload(token)
        if not (
            isinstance(data, dict)
            and isinstance(data.get("v"), str)
            and isinstance(data.get("i"), str)
            and isinstance(data.get("u"), str | None)
        ):
            raise TokenError("token invalid")
        return VisitorClaims(data["v"], data["i"], data.get("u"))

    def _payload(self, token: str) -> Any:
        """The token's payload if its signature holds and it is at most ``ttl_seconds`` old,
        checked in TimestampSigner.unsign's order: a bad signature or timestamp is invalid,
        whatever the age."""
        value, sep, signature = token.encode().rpartition(b".")
        if not sep:
            raise TokenError("token invalid")
        try:
            expected = base64_decode(signature)
        except BadData:
            raise TokenError("token invalid") from None
        mac = self._mac.copy()
        mac.update(value)
        if not hmac.compare_digest(expected, mac.digest()):
            raise TokenError("token invalid")
        payload, sep, stamp = value.rpartition(b".")
        if not sep:
            raise TokenError("token invalid")
        try:
            signed_at = bytes_to_int(base64_decode(stamp))
        except (BadData, struct.error):
            # A stamp over eight bytes: unsign calls it a malformed timestamp.
            raise TokenError("token invalid") from None
        age = int(time.time()) - signed_at
        if age > self.ttl_seconds or age < 0:
            raise TokenError("token expired")
        return self._decoded(payload)

    def _decoded(self, payload: bytes) -> Any:
        """The serializer's load_payload (base64, zlib when it starts with a dot, JSON), with
        orjson reading the JSON: json.loads was half of a check. Whatever orjson refuses that
        json takes (NaN, a lone surrogate's escape) goes the serializer's way, as before."""
        try:
            if payload.startswith(b"."):
                return orjson.loads(zlib.decompress(base64_decode(payload[1:])))
            return orjson.loads(base64_decode(payload))
        except (BadData, zlib.error, orjson.JSONDecodeError):
            pass
        try:
            return self._serializer.load_payload(payload)
        except BadData:
            raise TokenError("token invalid") from None
