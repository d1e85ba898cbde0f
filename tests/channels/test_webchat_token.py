"""Visitor tokens: signed, expiring, bound to the server's secret."""

from __future__ import annotations

import time

import pytest
from itsdangerous import BadData, SignatureExpired, Signer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

from channels.webchat.token import TokenError, VisitorClaims, VisitorTokens

CLAIMS = VisitorClaims(visitor_id="v1", inbox_address="demo-web")


def test_a_token_round_trips_its_claims() -> None:
    tokens = VisitorTokens("secret", 60)
    assert tokens.verify(tokens.issue(CLAIMS)) == CLAIMS


def test_an_expired_token_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = VisitorTokens("secret", 60)
    issued_at = time.time() - 120
    with monkeypatch.context() as mp:
        mp.setattr("itsdangerous.timed.time.time", lambda: issued_at)
        token = tokens.issue(CLAIMS)
    with pytest.raises(TokenError, match="token expired"):
        tokens.verify(token)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c"])
def test_garbage_is_invalid(token: str) -> None:
    with pytest.raises(TokenError, match="token invalid"):
        VisitorTokens("secret", 60).verify(token)


def test_a_token_from_another_secret_is_invalid() -> None:
    token = VisitorTokens("other", 60).issue(CLAIMS)
    with pytest.raises(TokenError, match="token invalid"):
        VisitorTokens("secret", 60).verify(token)


def _as_itsdangerous_says(secret: str, ttl: int, token: str) -> VisitorClaims | str:
    """What the serializer's own loads() makes of a token, as verify reports it (the check
    before verify took its own, cheaper steps)."""
    serializer = URLSafeTimedSerializer(secret, salt="switchboard.webchat.visitor")
    try:
        data = serializer.loads(token, max_age=ttl)
    except SignatureExpired:
        return "token expired"
    except BadData:
        return "token invalid"
    if not (
        isinstance(data, dict)
        and isinstance(data.get("v"), str)
        and isinstance(data.get("i"), str)
        and isinstance(data.get("u"), str | None)
    ):
        return "token invalid"
    return VisitorClaims(data["v"], data["i"], data.get("u"))


def _verified(tokens: VisitorTokens, token: str) -> VisitorClaims | str:
    try:
        return tokens.verify(token)
    except TokenError as exc:
        return str(exc)


def test_verify_agrees_with_itsdangerous(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = VisitorTokens("secret", 60)
    long = VisitorClaims("v-" + "a" * 40, "demo-web", identifier="user-" + "b" * 40)
    short = VisitorClaims("v", "d")
    compressed, plain = tokens.issue(long), tokens.issue(short)
    # Both payload forms: zlib-compressed (a leading dot) and plain.
    assert compressed.startswith(".")
    assert not plain.startswith(".")
    with monkeypatch.context() as mp:
        now = time.time()
        mp.setattr("itsdangerous.timed.time.time", lambda: now - 120)
        expired = tokens.issue(short)
        mp.setattr("itsdangerous.timed.time.time", lambda: now + 120)
        future = tokens.issue(short)
    payload, stamp, signature = plain.split(".")
    cases = [
        compressed,
        plain,
        expired,
        future,
        VisitorTokens("other", 60).issue(short),
        f"{payload}x.{stamp}.{signature}",  # payload changed
        f"{payload}.{stamp}.{signature[:-2]}",  # signature cut
        f"{payload}.{stamp}.!!",  # signature not base64
        f"{payload}.{signature}",  # no timestamp
        f"{payload}.{stamp}",
        ".",
        "..",
        "",
        "abc",
        "a.b.c",
    ]
    # Signed with the secret but not the claims' shape, or with a payload json takes and
    # orjson does not (NaN): signed by the serializer itself.
    serializer = URLSafeTimedSerializer("secret", salt="switchboard.webchat.visitor")
    cases += [serializer.dumps([1, 2]), serializer.dumps({"v": 1, "i": "d"})]
    cases.append(serializer.dumps({"v": "v", "i": "d", "n": float("nan")}))
    # Signed with the secret, a timestamp of nine bytes (unsign: "Malformed timestamp").
    signer = serializer.make_signer()
    nine = base64_encode(bytes([1]) * 9).decode()
    cases.append(Signer.sign(signer, f"{payload}.{nine}").decode())
    for token in cases:
        assert _verified(tokens, token) == _as_itsdangerous_says("secret", 60, token), token
    assert _verified(tokens, compressed) == long
    assert _verified(tokens, expired) == _verified(tokens, future) == "token expired"
