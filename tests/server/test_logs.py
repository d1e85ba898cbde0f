"""Logged errors carry the error and the ids we bind, never a frame's local variables (which
hold customer text)."""

from __future__ import annotations

import logging

import pytest
import structlog

from server import logs


@pytest.mark.parametrize("json", [False, True])
def test_a_logged_traceback_shows_no_local_variables(
    json: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("INFO", json=json)
    try:
        customer_text = "my card number is 4111 1111 1111 1111"
        raise ValueError(f"could not route a message of {len(customer_text)} characters")
    except ValueError:
        structlog.get_logger("test").exception("routing failed", message_id=42)
    out = capsys.readouterr().err
    logging.getLogger().handlers.clear()
    assert "routing failed" in out
    assert "could not route a message of 37 characters" in out
    assert "42" in out
    assert "4111" not in out


def test_each_websocket_handshake_is_not_logged_but_a_refusal_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """uvicorn's line per accepted socket (a reconnect storm is thousands a second) is
    dropped; its other lines stay."""
    logs.configure("INFO", json=True)
    logs.configure("INFO", json=True)  # configured twice: one filter, the same result
    uvicorn = logging.getLogger("uvicorn.error")
    uvicorn.info('%s - "WebSocket %s" [accepted]', "10.0.0.7:5050", "/ws/webchat")
    # The websockets library's own line, which the sans-I/O implementation logs there.
    uvicorn.info("connection open")
    uvicorn.info('%s - "WebSocket %s" 403', "10.0.0.8:5050", "/ws/webchat")
    uvicorn.info("Uvicorn running on %s", "http://127.0.0.1:8000")
    out = capsys.readouterr().err
    logging.getLogger().handlers.clear()
    assert "10.0.0.7" not in out
    assert "connection open" not in out
    assert "10.0.0.8" in out
    assert "Uvicorn running on" in out
    assert len(uvicorn.filters) == 1
