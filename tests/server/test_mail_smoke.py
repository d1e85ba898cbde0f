from __future__ import annotations

from pathlib import Path

from tests import harness, mail


async def test_smoke(dsn: str, tmp_path: Path) -> None:
    async with mail.relay() as relay:
        settings = harness.settings_for(dsn, tmp_path, smtp_relay_url=relay.url)
        async with harness.run_server(settings) as running:
            smtp = running.services.smtp
            assert smtp is not None
            await mail.send(smtp.port, mail.mail(message_id="m1@example.com"))
            await running.services.mailroom.settled()
            await running.services.pipeline.settled()
            rows = await running.services.pool.fetch("SELECT state, reason FROM mail_receipts")
            print(rows)
            msgs = await running.services.pool.fetch("SELECT author_kind, text, meta FROM messages")
            print(msgs)
            got = await relay.wait_for(1)
            print(got[0])
