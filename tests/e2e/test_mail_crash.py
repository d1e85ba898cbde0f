"""A 250 is a promise: the server killed right after answering it still has the message."""

from __future__ import annotations

import signal
from pathlib import Path

import asyncpg

from bench.processes import stop as stop_process
from tests import harness, mail


async def test_mail_acknowledged_before_a_crash_is_there_after_restart(
    dsn: str, tmp_path: Path
) -> None:
    smtp_port = harness.free_port()
    env = {
        "SWITCHBOARD_DATABASE_URL": dsn,
        "SWITCHBOARD_DATA_DIR": str(tmp_path),
        "SWITCHBOARD_SECRET_KEY": "crash-test-" + "k" * 32,
        "SWITCHBOARD_SMTP_PORT": str(smtp_port),
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
    }
    proc, _ = harness.spawn_server(env)
    try:
        refused = await mail.send(smtp_port, mail.mail(message_id="promise@example.com"))
        assert refused == {}
        proc.send_signal(signal.SIGKILL)  # no shutdown, no chance to finish anything
        proc.wait(timeout=10)
    finally:
        stop_process(proc, grace=1)

    conn = await asyncpg.connect(dsn)
    try:
        stored = await conn.fetchval("SELECT count(*) FROM mail_receipts")
        assert stored == 1  # on disk before the 250
        proc, _ = harness.spawn_server(env)
        try:

            async def in_a_conversation() -> bool:
                found = await conn.fetchval(
                    "SELECT count(*) FROM messages WHERE channel = 'email'"
                    " AND meta->>'message_id' = 'promise@example.com'"
                )
                return bool(found == 1)

            await harness.until(in_a_conversation, within=30)

            # The receipt is settled just after its message commits (a crash between the two
            # re-processes it, and the message's key keeps it single): wait for that state.
            async def settled() -> bool:
                state = await conn.fetchval("SELECT state FROM mail_receipts")
                return bool(state == "stored")

            await harness.until(settled, within=30)
            stored_once = "SELECT count(*) FROM messages WHERE meta->>'message_id' = $1"
            assert await conn.fetchval(stored_once, "promise@example.com") == 1
        finally:
            stop_process(proc, grace=20)
    finally:
        await conn.close()
