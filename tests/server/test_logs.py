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
