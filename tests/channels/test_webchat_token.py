"""Visitor tokens: signed, expiring, bound to the server's secret."""

from __future__ import annotations

import time

import pytest

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
