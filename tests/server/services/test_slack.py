"""Slack end to end: signed events in (kept, then read), replies out in the thread, against a
Web API stand-in that speaks the documented JSON."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from bench.processes import stop as stop_process
from channels.base import Attachment
from server.services import demo
from tests import harness, slack_api
from tests.slack_api import SlackApi, message_event, signed

EVENTS = "/channels/slack/events"


@pytest.fixture
async def api() -> AsyncIterator[SlackApi]:
    async with slack_api.slack_api() as running:
        yield running


def _settings(dsn: str, tmp: Path, api: SlackApi, **extra: Any) -> Any:
    return harness.settings_for(
        dsn,
        tmp,
        slack_signing_secret=slack_api.SIGNING_SECRET,
        slack_bot_token=slack_api.TOKEN,
        slack_api_url=api.base_url + "/api/",
        **extra,
    )


async def _reaches(server: harness.RunningServer, status: str, within: float) -> None:
    slack = server.services.slack
    assert slack is not None

    async def there() -> bool:
        return bool(slack.state()["status"] == status)

    await harness.until(there, within)


async def _read(server: harness.RunningServer) -> None:
    """Wait until every event the endpoint kept (its 200) has been read as a message."""
    slack = server.services.slack
    assert slack is not None
    await asyncio.wait_for(slack.settled(), 60)


@pytest.fixture
async def running(dsn: str, tmp_path: Path, api: SlackApi) -> AsyncIterator[harness.RunningServer]:
    async with harness.run_server(
        _settings(dsn, tmp_path, api, delivery_retry_seconds=0.2)
    ) as server:
        await _reaches(server, "connected", 15)
        yield server


async def test_url_verification_is_answered(running: harness.RunningServer) -> None:
    body = orjson.dumps(
        {
            "token": "x",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    async with httpx.AsyncClient(base_url=running.base_url) as http:
        response = await http.post(EVENTS, content=body, headers=signed(body))
    assert response.status_code == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in response.text


async def test_a_thousand_signed_events_none_lost_none_twice_every_bad_one_401(
    running: harness.RunningServer,
) -> None:
    rng = random.Random(7)
    posts: list[tuple[bytes, dict[str, str], str]] = []
    good: set[str] = set()
    now = int(time.time())
    for n in range(1, 1001):
        channel = "C0SUPPORT" if n % 3 else f"D{n % 30:04d}"
        event = message_event(n, f"question {n}", user=f"U{n % 30:04d}", channel=channel)
        body = orjson.dumps(event)
        roll = rng.random()
        if roll < 0.01:
            posts.append((body, signed(body, secret="wrong-secret"), "bad"))
        elif roll < 0.02:
            posts.append((body, signed(body, timestamp=str(now - 6 * 60)), "bad"))  # stale
        elif roll < 0.03:
            posts.append((body, signed(body, timestamp="17000000a0"), "bad"))  # malformed
        else:
            posts.append((body, signed(body), "good"))
            good.add(event["event"]["ts"])
            if rng.random() < 0.05:  # Slack retrying (no ack seen in time)
                retry = {
                    **signed(body),
                    "X-Slack-Retry-Num": "1",
                    "X-Slack-Retry-Reason": "http_timeout",
                }
                posts.append((body, retry, "good"))
            if n % 50 == 0:  # the app_mention twin of a message that mentions the app
                twin = orjson.dumps(
                    message_event(
                        n,
                        f"question {n}",
                        user=f"U{n % 30:04d}",
                        channel=channel,
                        kind="app_mention",
                    )
                )
                posts.append((twin, signed(twin), "good"))
    rng.shuffle(posts)
    statuses: dict[str, list[int]] = {"good": [], "bad": []}
    async with httpx.AsyncClient(base_url=running.base_url, timeout=30) as http:
        semaphore = asyncio.Semaphore(20)

        async def post(body: bytes, headers: dict[str, str], kind: str) -> None:
            async with semaphore:
                response = await http.post(EVENTS, content=body, headers=headers)
            statuses[kind].append(response.status_code)

        await asyncio.gather(*(post(*p) for p in posts))
    assert set(statuses["good"]) == {200}
    assert statuses["bad"]
    assert set(statuses["bad"]) == {401}
    await _read(running)  # every 200 was kept; the messages follow
    rows = await running.services.pool.fetch(
        "SELECT external_id FROM messages WHERE channel = 'slack' AND direction = 'in'"
    )
    stored = [r["external_id"].rsplit(":", 1)[1] for r in rows]
    assert len(stored) == len(set(stored))  # 0 duplicated
    assert set(stored) == good  # 0 lost


async def test_replies_go_to_the_thread_obey_retry_after_and_the_profile_fills_the_contact(
    running: harness.RunningServer, api: SlackApi
) -> None:
    api.users["U0ADA"] = {
        "id": "U0ADA",
        "name": "ada",
        "real_name": "Ada Lovelace",
        "profile": {"real_name": "Ada Lovelace", "email": "ada@example.com"},
    }
    api.files["F01"] = b"%PDF-1.4 contract"
    event = message_event(
        1,
        "<@U0BOT> our invoice is wrong",
        files=[
            {
                "id": "F01",
                "name": "../contract.pdf",
                "mimetype": "application/pdf",
                "url_private_download": api.base_url + "/files/F01",
            }
        ],
        subtype="file_share",
    )
    body = orjson.dumps(event)
    async with httpx.AsyncClient(base_url=running.base_url) as http:
        assert (await http.post(EVENTS, content=body, headers=signed(body))).status_code == 200
    await _read(running)
    await running.services.pipeline.settled()
    pool = running.services.pool

    async def profiled() -> bool:
        return bool(
            await pool.fetchval("SELECT count(*) FROM contacts WHERE email = 'ada@example.com'")
        )

    await harness.until(profiled, 10)
    row = await pool.fetchrow(
        "SELECT c.id, c.thread_key, k.name FROM conversations c JOIN contacts k"
        " ON k.id = c.contact_id WHERE c.channel = 'slack'"
    )
    assert row is not None
    assert row["thread_key"] == f"C0SUPPORT:{event['event']['ts']}"
    assert row["name"] == "Ada Lovelace"
    [message] = await pool.fetch(
        "SELECT text FROM messages WHERE channel = 'slack' AND direction = 'in'"
    )
    assert message["text"] == "our invoice is wrong"
    files = await pool.fetch("SELECT filename, content FROM attachments")
    assert [(f["filename"], bytes(f["content"])) for f in files] == [
        ("contract.pdf", b"%PDF-1.4 contract")
    ]

    agent = str(await pool.fetchval("SELECT id FROM agents WHERE email = $1", demo.AGENT_EMAIL))
    api.flood, api.retry_after = 3, 1
    replies = [f"reply {n}" for n in range(3)]
    for n, text in enumerate(replies):
        await running.services.pipeline.reply(agent, str(row["id"]), text, f"s{n}")

    async def drained() -> bool:
        """Every delivery (the replies and the handoff notice) sent: nothing more will go."""
        statuses = await pool.fetch("SELECT status FROM deliveries WHERE channel = 'slack'")
        return [r["status"] for r in statuses] == ["sent"] * (len(replies) + 1)

    await harness.until(drained, 30)
    posted = [p for p in api.posted if p["text"].startswith("reply")]
    assert sorted(p["text"] for p in posted) == replies  # each once
    assert len(api.posted) == len(replies) + 1  # and the handoff notice, in the thread too
    assert {p["thread_ts"] for p in api.posted} == {event["event"]["ts"]}
    assert {p["channel"] for p in api.posted} == {"C0SUPPORT"}
    for text in replies:
        tries = [(t, status) for t, x, status in api.attempts if x == text]
        for (when, status), (later, _) in itertools.pairwise(tries):
            if status == 429:
                assert later - when >= api.retry_after - 0.05, (text, tries)
    assert api.lookups == ["U0ADA"]  # cached after the first look


async def test_an_agents_files_are_uploaded_into_the_thread(
    running: harness.RunningServer, api: SlackApi
) -> None:
    event = message_event(1, "<@U0BOT> can I have the manual?")
    body = orjson.dumps(event)
    async with httpx.AsyncClient(base_url=running.base_url) as http:
        assert (await http.post(EVENTS, content=body, headers=signed(body))).status_code == 200
    await _read(running)
    await running.services.pipeline.settled()
    pool = running.services.pool
    conversation = str(await pool.fetchval("SELECT id FROM conversations WHERE channel = 'slack'"))
    agent = str(await pool.fetchval("SELECT id FROM agents WHERE email = $1", demo.AGENT_EMAIL))
    files = (
        Attachment("manual.pdf", "application/pdf", b"%PDF-1.4 manual"),
        Attachment("wiring.png", "image/png", b"\x89PNG wiring"),
    )
    # The text is rate limited once: the retry must not upload or post anything twice.
    api.flood, api.retry_after = 1, 1
    stored = await running.services.pipeline.reply(
        agent, conversation, "Here you are.", "files", files
    )

    async def sent() -> bool:
        status = await pool.fetchval(
            "SELECT status FROM deliveries WHERE message_id = $1", stored.message["id"]
        )
        return bool(status == "sent")

    await harness.until(sent, 20)
    thread = event["event"]["ts"]
    assert [p["text"] for p in api.posted if p["text"] == "Here you are."] == ["Here you are."]
    assert [(u["filename"], u["content"], u["channel"], u["thread_ts"]) for u in api.uploaded] == [
        ("manual.pdf", b"%PDF-1.4 manual", "C0SUPPORT", thread),
        ("wiring.png", b"\x89PNG wiring", "C0SUPPORT", thread),
    ]
    delivery = await pool.fetchrow(
        "SELECT parts_sent, detail FROM deliveries WHERE message_id = $1", stored.message["id"]
    )
    assert delivery is not None
    assert (delivery["parts_sent"], delivery["detail"]) == (2, "sent with files")


async def test_another_workspace_serves_its_own_brand(
    dsn: str, tmp_path: Path, api: SlackApi
) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO brands (slug, name) VALUES ('acme', 'Acme')")
    finally:
        await conn.close()
    settings = _settings(
        dsn,
        tmp_path,
        api,
        slack_workspaces={slack_api.OTHER_TEAM: {"token": slack_api.OTHER_TOKEN, "brand": "acme"}},
    )
    async with harness.run_server(settings) as server:
        body = orjson.dumps(
            message_event(1, "hello from the other workspace", team=slack_api.OTHER_TEAM)
        )
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            assert (await http.post(EVENTS, content=body, headers=signed(body))).status_code == 200
        await _read(server)
        await server.services.pipeline.settled()
        pool = server.services.pool
        row = await pool.fetchrow(
            "SELECT b.slug, i.address FROM conversations c JOIN inboxes i ON i.id = c.inbox_id"
            " JOIN brands b ON b.id = c.brand_id"
        )
        assert row is not None
        assert (row["slug"], row["address"]) == ("acme", slack_api.OTHER_TEAM)

        async def notice_posted() -> bool:
            return bool(api.posted)

        await harness.until(notice_posted, 15)
        assert {p["via"] for p in api.posted} == {slack_api.OTHER_TOKEN}


async def test_files_known_only_by_id_are_fetched_through_files_info(
    running: harness.RunningServer, api: SlackApi
) -> None:
    api.files["F02"] = b"log line"
    event = message_event(
        2,
        "here is the log",
        files=[{"id": "F02", "file_access": "check_file_info"}],
        subtype="file_share",
    )
    body = orjson.dumps(event)
    async with httpx.AsyncClient(base_url=running.base_url) as http:
        assert (await http.post(EVENTS, content=body, headers=signed(body))).status_code == 200
    await _read(running)
    files = await running.services.pool.fetch("SELECT filename, content FROM attachments")
    assert [(f["filename"], bytes(f["content"])) for f in files] == [("file", b"log line")]


async def test_an_unreachable_slack_does_not_stop_the_server(
    dsn: str, tmp_path: Path, api: SlackApi
) -> None:
    api.down = True
    async with harness.run_server(_settings(dsn, tmp_path, api)) as server:
        await _reaches(server, "retrying", 10)
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            ready = (await http.get("/readyz")).json()
            assert ready["ready"] is True
            assert ready["slack"]["status"] == "retrying"
            # Events are still taken and stored meanwhile.
            body = orjson.dumps(message_event(3, "are you there?"))
            assert (await http.post(EVENTS, content=body, headers=signed(body))).status_code == 200
        api.down = False
        await _reaches(server, "connected", 15)


async def test_killed_mid_stream_no_acknowledged_event_is_lost_or_stored_twice(
    dsn: str, tmp_path: Path, api: SlackApi
) -> None:
    """Persist before the 200: a node killed (SIGKILL) while events pour in has every event it
    answered 200 on disk; after the restart, with Slack retrying what got no 200 (and some
    that did), each event is one message: none lost, none twice."""
    env = {
        "SWITCHBOARD_DATABASE_URL": dsn,
        "SWITCHBOARD_DATA_DIR": str(tmp_path),
        "SWITCHBOARD_SECRET_KEY": "slack-kill-" + "k" * 32,
        "SWITCHBOARD_SLACK_SIGNING_SECRET": slack_api.SIGNING_SECRET,
        "SWITCHBOARD_SLACK_BOT_TOKEN": slack_api.TOKEN,
        "SWITCHBOARD_SLACK_API_URL": api.base_url + "/api/",
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
    }
    total = 800
    acked: set[int] = set()

    async def deliver(base_url: str, numbers: list[int]) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            slots = asyncio.Semaphore(10)

            async def post(n: int) -> None:
                body = orjson.dumps(message_event(n, f"k{n}", user=f"U{n % 20:04d}"))
                async with slots:
                    try:
                        response = await http.post(EVENTS, content=body, headers=signed(body))
                    except httpx.HTTPError:
                        return  # the node died: no answer, so Slack retries
                if response.status_code == 200:
                    acked.add(n)

            await asyncio.gather(*(post(n) for n in numbers))

    async def some() -> bool:
        return len(acked) >= 50

    async def pour(base_url: str) -> None:
        await deliver(base_url, list(range(1, total + 1)))

    await harness.kill_mid_stream(env, some, pour)
    assert 50 <= len(acked) < total  # killed mid-stream
    before_restart = sorted(acked)
    conn = await asyncpg.connect(dsn)
    try:
        held = "SELECT count(*) FROM slack_held_events"
        messages = "SELECT count(*) FROM messages WHERE channel = 'slack' AND direction = 'in'"
        proc, base_url = harness.spawn_server(env)
        try:
            again = [n for n in range(1, total + 1) if n not in acked]
            await deliver(base_url, again + before_restart[:30])
            assert acked == set(range(1, total + 1))

            async def everything() -> bool:
                return not await conn.fetchval(held) and await conn.fetchval(messages) >= total

            await harness.until(everything, 180)
        finally:
            stop_process(proc, grace=20)
        rows = await conn.fetch(
            "SELECT external_id FROM messages WHERE channel = 'slack' AND direction = 'in'"
        )
        stamps = [r["external_id"].rsplit(":", 1)[1] for r in rows]
        assert len(stamps) == len(set(stamps)) == total  # none twice
    finally:
        await conn.close()
