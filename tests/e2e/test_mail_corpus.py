"""Two hundred hostile or odd messages over real SMTP: each becomes what the corpus pins (stored
with its text and files, a report, quarantined with its reason, or refused by SMTP itself with a
5xx); none crashes or stalls the server, which keeps storing ordinary mail and answering HTTP
throughout."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx

from tests import harness, mail
from tests.channels.email.corpus import Case, cases

SENDERS = 8


async def test_the_hostile_corpus(dsn: str, tmp_path: Path) -> None:
    corpus = list(cases())
    assert len(corpus) >= 200
    settings = harness.settings_for(dsn, tmp_path)
    async with harness.run_server(settings) as running:
        assert running.services.smtp is not None
        port = running.services.smtp.port
        answers: dict[str, str] = {}
        probes: list[str] = []
        done = asyncio.Event()

        async def health() -> None:
            # The event loop never waits on a parser: every health check is answered (a stalled
            # loop would fail one with a timeout).
            async with httpx.AsyncClient(base_url=running.base_url, timeout=10) as http:
                while not done.is_set():
                    assert (await http.get("/healthz")).status_code == 200
                    await asyncio.sleep(0.1)

        queue: asyncio.Queue[Case] = asyncio.Queue()
        for case in corpus:
            queue.put_nowait(case)

        async def sender() -> None:
            while not queue.empty():
                case = queue.get_nowait()
                answers[case.name] = await mail.send_raw(port, case.raw, case.sender)
                if len(answers) % 25 == 0:
                    probe = f"probe-{len(answers)}@example.com"
                    await mail.send(
                        port,
                        mail.mail(message_id=probe, sender="probe@example.com"),
                        "probe@example.com",
                    )
                    probes.append(probe)

        watcher = asyncio.create_task(health())
        await asyncio.gather(*(sender() for _ in range(SENDERS)))
        await running.services.mailroom.settled()
        done.set()
        await watcher

        pool = running.services.pool
        receipts = {
            r["id"]: r
            for r in await pool.fetch("SELECT id, state, reason, subject FROM mail_receipts")
        }
        stored = {
            r["receipt_id"]: (r["text"], tuple(r["files"]))
            for r in await pool.fetch(
                "SELECT (m.meta->>'receipt_id')::bigint AS receipt_id, m.text,"
                " array(SELECT a.filename FROM attachments a WHERE a.message_id = m.id"
                " ORDER BY a.position) AS files"
                " FROM messages m WHERE m.channel = 'email' AND m.meta ? 'receipt_id'"
            )
        }
        problems = []
        for case in corpus:
            answer = answers[case.name]
            queued = re.search(r"queued as (\d+)", answer)
            if case.expect == "refused":
                if not re.match(r"5\d\d ", answer):
                    problems.append(f"{case.name}: expected a 5xx refusal, got {answer!r}")
                continue
            if queued is None:
                problems.append(f"{case.name}: not accepted: {answer!r}")
                continue
            receipt = receipts[int(queued.group(1))]
            state = receipt["state"]
            if state == "received":
                problems.append(f"{case.name}: never processed")
            if state == "quarantined" and not receipt["reason"]:
                problems.append(f"{case.name}: quarantined without a reason")
            wanted = {"stored": {"stored", "duplicate"}}
            if state not in wanted.get(case.expect, {case.expect}):
                problems.append(
                    f"{case.name}: {state} ({receipt['reason']}), expected {case.expect}"
                )
                continue
            if case.reason is not None and case.reason not in (receipt["reason"] or ""):
                problems.append(f"{case.name}: reason {receipt['reason']!r}, not {case.reason!r}")
            if case.subject is not None and (receipt["subject"] or "") != case.subject:
                problems.append(f"{case.name}: subject {receipt['subject']!r}")
            if case.expect == "stored" and (case.text, case.files) != (None, None):
                text, files = stored.get(receipt["id"], (None, None))
                if case.text is not None and text != case.text:
                    problems.append(f"{case.name}: text {text!r}, expected {case.text!r}")
                if case.files is not None and files != case.files:
                    problems.append(f"{case.name}: files {files!r}, expected {case.files!r}")
        assert problems == []

        probe_states = await pool.fetch(
            "SELECT message_id, state, reason FROM mail_receipts"
            " WHERE message_id = ANY($1::text[])",
            probes,
        )
        assert len(probes) >= 8
        assert sorted((r["message_id"], r["state"], r["reason"]) for r in probe_states) == sorted(
            (p, "stored", None) for p in probes
        )
