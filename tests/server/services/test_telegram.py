"""Telegram end to end against a Bot API stand-in that speaks the documented JSON: webhook and
long polling in, replies out through the outbox, exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from bench.processes import stop as stop_process
from channels.base import Attachment
from channels.segments import segments
from server.services import demo
from tests import harness, mail, telegram_api
from tests.telegram_api import BotApi, message_update

SECRET = "webhook-secret_42"
WEBHOOK = "/channels/telegram/webhook"


async def _connected(running: harness.RunningServer) -> None:
    telegram = running.services.telegram
    assert telegram is not None

    async def ready() -> bool:
        return bool(telegram.state()["status"] == "connected")

    await harness.until(ready, 20)


@pytest.fixture
async def api() -> AsyncIterator[BotApi]:
    async with telegram_api.bot_api() as running:
        yield running


def _settings(dsn: str, tmp: Path, api: BotApi, **extra: Any) -> Any:
    return harness.settings_for(
        dsn,
        tmp,
        telegram_bot_token=telegram_api.TOKEN,
        telegram_api_url=api.base_url,
        delivery_retry_seconds=0.2,
        **extra,
    )


def _webhook_settings(dsn: str, tmp: Path, api: BotApi, **extra: Any) -> Any:
    """The default bot on a webhook (at WEBHOOK, with SECRET) instead of long polling."""
    return _settings(
        dsn,
        tmp,
        api,
        telegram_webhook_url="https://support.example.com" + WEBHOOK,
        telegram_webhook_secret=SECRET,
        **extra,
    )


async def _count(pool: asyncpg.Pool, query: str, *args: Any) -> int:
    return int(await pool.fetchval(query, *args))


async def _drained(pool: asyncpg.Pool, within: float = 60) -> None:
    """Wait until every update the webhook held (its 200) has been read as a message."""

    async def none_held() -> bool:
        return await _count(pool, "SELECT count(*) FROM telegram_held_updates") == 0

    await harness.until(none_held, within)


async def test_webhook_updates_are_stored_once_and_bad_secrets_refused(
    dsn: str, tmp_path: Path, api: BotApi
) -> None:
    settings = _webhook_settings(dsn, tmp_path, api)
    async with harness.run_server(settings) as running:
        await _connected(running)
        assert api.webhook == "https://support.example.com" + WEBHOOK
        rng = random.Random(6)
        posts: list[tuple[dict[str, Any], str]] = []
        good: set[int] = set()
        for n in range(1, 1001):
            update = message_update(n, f"question {n}", user_id=1000 + n % 40)
            if rng.random() < 0.01:
                posts.append((update, "wrong-secret"))
                continue
            posts.append((update, SECRET))
            good.add(n)
            if rng.random() < 0.05:
                posts.append((update, SECRET))  # Telegram delivering it again
        rng.shuffle(posts)
        statuses: dict[str, list[int]] = {SECRET: [], "wrong-secret": []}
        async with httpx.AsyncClient(base_url=running.base_url, timeout=30) as http:
            semaphore = asyncio.Semaphore(20)

            async def post(update: dict[str, Any], secret: str) -> None:
                async with semaphore:
                    response = await http.post(
                        WEBHOOK,
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": secret},
                    )
                statuses[secret].append(response.status_code)

            await asyncio.gather(*(post(u, s) for u, s in posts))
            assert (await http.post(WEBHOOK, content=b"{not json")).status_code == 401
            bad = await http.post(
                WEBHOOK,
                content=b'{"update": 1}',
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
            assert bad.status_code == 400
        assert set(statuses[SECRET]) == {200}
        assert statuses["wrong-secret"]
        assert set(statuses["wrong-secret"]) == {401}
        pool = running.services.pool
        # Every 200 is on disk; the messages follow, read from what was held.
        await _drained(pool)
        stored = await pool.fetch(
            "SELECT external_id FROM messages WHERE channel = 'telegram' AND direction = 'in'"
        )
        ids = [int(r["external_id"].split(":")[1]) for r in stored]
        assert len(ids) == len(set(ids)) == len(good)  # 0 duplicated
        assert set(ids) == good  # 0 lost
        conversations = await _count(
            pool, "SELECT count(*) FROM conversations WHERE channel = 'telegram'"
        )
        assert conversations == 40  # one per customer's private chat


async def test_long_polling_files_commands_groups_and_typing(
    dsn: str, tmp_path: Path, api: BotApi
) -> None:
    api.files["doc-1"] = b"%PDF-1.4 receipt"
    async with harness.run_server(_settings(dsn, tmp_path, api)) as running:
        await _connected(running)
        api.push(message_update(1, "/start order-10234"))
        api.push(
            message_update(
                2,
                None,
                caption="my receipt",
                document={
                    "file_id": "doc-1",
                    "file_unique_id": "u1",
                    "file_name": "../r.pdf",
                    "mime_type": "application/pdf",
                },
            )
        )
        group = {"id": -100, "type": "supergroup", "title": "ACME buyers"}
        api.push(message_update(3, "lunch anyone?", user_id=888, chat=group))
        api.push(message_update(4, "@DemoShopBot my invoice is wrong", user_id=888, chat=group))
        api.push(message_update(5, "photo", photo=[]))  # empty photo list: text only

        pool = running.services.pool

        async def all_there() -> bool:
            return (
                await _count(
                    pool,
                    "SELECT count(*) FROM messages WHERE channel = 'telegram' AND direction = 'in'",
                )
                == 4
            )

        await harness.until(all_there, 15)
        rows = await pool.fetch(
            "SELECT m.text, m.meta, c.thread_key FROM messages m JOIN conversations c"
            " ON c.id = m.conversation_id WHERE m.channel = 'telegram' AND m.direction = 'in'"
            " ORDER BY m.id"
        )
        texts = [r["text"] for r in rows]
        assert texts == ["/start order-10234", "my receipt", "my invoice is wrong", "photo"]
        assert rows[0]["meta"]["start"] == "order-10234"
        assert rows[0]["thread_key"] is None
        assert rows[2]["thread_key"] == "chat:-100"  # a group is a thread of its own
        files = await pool.fetch("SELECT filename, content FROM attachments")
        assert [(f["filename"], bytes(f["content"])) for f in files] == [
            ("r.pdf", b"%PDF-1.4 receipt")
        ]

        async def offset_past_all() -> bool:
            # Past update 3 too: it carried nothing for us, and still counts as received.
            query = "SELECT position FROM channel_cursors WHERE channel = 'telegram'"
            return bool(await pool.fetchval(query) == 5)

        await harness.until(offset_past_all, 10)

        conversation = str(
            await pool.fetchval(
                "SELECT conversation_id FROM messages WHERE text = '/start order-10234'"
            )
        )
        await running.services.pipeline.typing(conversation, "agent", True)

        async def typed() -> bool:
            return api.actions == [{"chat_id": 777, "action": "typing"}]

        await harness.until(typed, 10)


async def _customer_wrote(running: harness.RunningServer, api: BotApi) -> tuple[str, str]:
    """A customer's first message, stored and settled: (its conversation, the demo agent)."""
    await _connected(running)
    api.push(message_update(1, "Where is my order?"))
    pool = running.services.pool

    async def conversation() -> bool:
        query = "SELECT count(*) FROM conversations WHERE channel = 'telegram'"
        return await _count(pool, query) == 1

    await harness.until(conversation, 15)
    await running.services.pipeline.settled()
    conversation_id = str(
        await pool.fetchval("SELECT id FROM conversations WHERE channel = 'telegram'")
    )
    agent_id = str(await pool.fetchval("SELECT id FROM agents WHERE email = $1", demo.AGENT_EMAIL))
    return conversation_id, agent_id


async def test_each_forum_topic_is_a_conversation_answered_in_its_topic(
    dsn: str, tmp_path: Path, api: BotApi
) -> None:
    forum = {"id": -200, "type": "supergroup", "title": "ACME forum", "is_forum": True}
    group = {"id": -100, "type": "supergroup", "title": "ACME buyers"}
    ask = "@DemoShopBot"
    async with harness.run_server(_settings(dsn, tmp_path, api)) as running:
        await _connected(running)
        topic = {"is_topic_message": True}
        api.push(message_update(1, f"{ask} refund?", chat=forum, message_thread_id=5, **topic))
        api.push(message_update(2, f"{ask} parcel?", chat=forum, message_thread_id=9, **topic))
        api.push(message_update(3, f"{ask} in General", chat=forum))
        api.push(message_update(4, f"{ask} refund again", chat=forum, message_thread_id=5, **topic))
        # A reply thread in a plain supergroup is not a topic: still the group's conversation.
        api.push(message_update(5, f"{ask} my invoice", chat=group, message_thread_id=42))
        pool = running.services.pool

        async def all_there() -> bool:
            query = "SELECT count(*) FROM messages WHERE channel = 'telegram' AND direction = 'in'"
            return await _count(pool, query) == 5

        await harness.until(all_there, 15)
        rows = await pool.fetch(
            "SELECT m.text, c.id, c.thread_key FROM messages m JOIN conversations c"
            " ON c.id = m.conversation_id WHERE m.direction = 'in' ORDER BY m.id"
        )
        assert [r["thread_key"] for r in rows] == [
            "chat:-200:topic:5",
            "chat:-200:topic:9",
            "chat:-200",
            "chat:-200:topic:5",
            "chat:-100",
        ]
        assert rows[0]["id"] == rows[3]["id"]
        await running.services.pipeline.settled()
        agent_id = str(
            await pool.fetchval("SELECT id FROM agents WHERE email = $1", demo.AGENT_EMAIL)
        )
        parcel, general = str(rows[1]["id"]), str(rows[2]["id"])
        pipeline = running.services.pipeline
        await pipeline.reply(agent_id, parcel, "Your parcel left today.", "t9")
        await pipeline.reply(agent_id, general, "Hello from support.", "tg")
        await pipeline.typing(str(rows[0]["id"]), "agent", True)

        async def answered() -> bool:
            texts = {m["text"] for m in api.sent}
            return {"Your parcel left today.", "Hello from support."} <= texts and any(
                a.get("message_thread_id") == 5 for a in api.actions
            )

        await harness.until(answered, 20)
    by_text = {m["text"]: m for m in api.sent}
    assert by_text["Your parcel left today."]["chat"]["id"] == -200
    assert by_text["Your parcel left today."]["message_thread_id"] == 9
    assert "message_thread_id" not in by_text["Hello from support."]  # General: no topic
    assert {"chat_id": -200, "action": "typing", "message_thread_id": 5} in api.actions


async def test_replies_obey_retry_after_and_go_out_exactly_once(
    dsn: str, tmp_path: Path, api: BotApi
) -> None:
    async with harness.run_server(_settings(dsn, tmp_path, api)) as running:
        conversation_id, agent_id = await _customer_wrote(running, api)
        pool = running.services.pool
        api.flood, api.flood_retry_after = 4, 1
        replies = [f"reply {n}" for n in range(5)]
        for n, text in enumerate(replies):
            await running.services.pipeline.reply(agent_id, conversation_id, text, f"c{n}")

        async def delivered() -> bool:
            # Every reply's delivery recorded as sent: the outbox never claims one again.
            sent = await _count(
                pool,
                "SELECT count(*) FROM deliveries d JOIN messages m ON m.id = d.message_id"
                " WHERE m.author_kind = 'agent' AND d.status = 'sent'",
            )
            return sent == len(replies)

        await harness.until(delivered, 40)
        sent_texts = [m["text"] for m in api.sent if m["text"].startswith("reply")]
        assert sorted(sent_texts) == replies  # each exactly once
        # After a 429 for a text, its next attempt came no sooner than retry_after.
        for text in replies:
            tries = [(t, status) for t, _, x, status in api.attempts if x == text]
            for (when, status), (later, _) in itertools.pairwise(tries):
                if status == 429:
                    assert later - when >= api.flood_retry_after - 0.05, (text, tries)
        statuses = await pool.fetch(
            "SELECT d.status FROM deliveries d JOIN messages m ON m.id = d.message_id"
            " WHERE m.author_kind = 'agent'"
        )
        assert [r["status"] for r in statuses] == ["sent"] * 5


async def test_a_long_reply_goes_out_in_parts_each_exactly_once(
    dsn: str, tmp_path: Path, api: BotApi
) -> None:
    paragraph = "Here is what to check before we send a replacement. " * 20
    reply = "\n\n".join(f"{n}. {paragraph.strip()}" for n in range(9))  # ~9,500 characters
    assert len(reply) > 2 * telegram_api.MAX_TEXT
    async with harness.run_server(_settings(dsn, tmp_path, api)) as running:
        conversation_id, agent_id = await _customer_wrote(running, api)
        # The second part meets flood control: the retry must not send the first again.
        api.flood, api.flood_after, api.flood_retry_after = 1, 1, 1
        await running.services.pipeline.reply(agent_id, conversation_id, reply, "long")
        pool = running.services.pool

        async def settled() -> bool:
            status = await pool.fetchval(
                "SELECT d.status FROM deliveries d JOIN messages m ON m.id = d.message_id"
                " WHERE m.author_kind = 'agent'"
            )
            return bool(status == "sent")

        await harness.until(settled, 30)
        delivery = await pool.fetchrow(
            "SELECT d.* FROM deliveries d JOIN messages m ON m.id = d.message_id"
            " WHERE m.author_kind = 'agent'"
        )
    parts = [m["text"] for m in api.sent if m["text"][:2] in {f"{n}." for n in range(9)}]
    assert len(parts) == 3
    assert parts == segments(reply, telegram_api.MAX_TEXT)
    assert all(len(p) <= telegram_api.MAX_TEXT for p in parts)
    assert "".join(reply.split()) == "".join("".join(parts).split())
    assert [status for *_, status in api.attempts if status != 200] == [429]
    assert delivery is not None
    assert delivery["parts_sent"] == 3
    assert delivery["detail"] == "sent in 3 parts"
    first = next(m for m in api.sent if m["text"] == parts[0])
    assert delivery["external_id"] == f"{first['chat']['id']}:{first['message_id']}"


async def test_an_agents_files_arrive_as_documents_after_the_text(
    dsn: str, tmp_path: Path, api: BotApi
) -> None:
    files = (
        Attachment("label.pdf", "application/pdf", b"%PDF-1.4 label"),
        Attachment("photo.jpg", "image/jpeg", b"\xff\xd8\xff jpeg"),
    )
    async with harness.run_server(_settings(dsn, tmp_path, api)) as running:
        conversation_id, agent_id = await _customer_wrote(running, api)
        stored = await running.services.pipeline.reply(
            agent_id, conversation_id, "Your return label:", "files", files
        )
        pool = running.services.pool

        async def sent() -> bool:
            status = await pool.fetchval(
                "SELECT status FROM deliveries WHERE message_id = $1", stored.message["id"]
            )
            return bool(status == "sent")

        await harness.until(sent, 20)
        parts_sent = await pool.fetchval(
            "SELECT parts_sent FROM deliveries WHERE message_id = $1", stored.message["id"]
        )
    outgoing = [m["text"] for m in api.sent if m["chat"]["id"] == 777]
    assert outgoing[-3:] == ["Your return label:", "document:label.pdf", "document:photo.jpg"]
    assert [(d["filename"], d["content"]) for d in api.documents] == [
        (f.filename, f.content) for f in files
    ]
    assert parts_sent == 3


async def test_one_node_at_a_time_long_polls_and_another_takes_over(
    dsn: str, tmp_path: Path, api: BotApi
) -> None:
    settings = _settings(dsn, tmp_path, api, telegram_poll_seconds=1)
    lease = f"telegram-poll:{telegram_api.TOKEN.split(':')[0]}"
    stored = "SELECT count(*) FROM messages WHERE channel = 'telegram' AND direction = 'in'"

    def status(node: harness.RunningServer) -> str:
        telegram = node.services.telegram
        assert telegram is not None
        return str(telegram.bots[0].state()["status"])

    async def until_stored(pool: asyncpg.Pool, count: int) -> None:
        async def there() -> bool:
            return await _count(pool, stored) == count

        await harness.until(there, 30)

    async with contextlib.AsyncExitStack() as first_node:
        a = await first_node.enter_async_context(harness.run_server(settings))
        # A node that died holding the lease (it takes it over from this one): nobody polls
        # until it runs out.
        await a.services.pool.execute(
            "INSERT INTO leases (name, holder, expires_at)"
            " VALUES ($1, 'node-dead', now() + interval '3 seconds')"
            " ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder,"
            " expires_at = EXCLUDED.expires_at",
            lease,
        )
        await harness.until(lambda: _is(status(a), "standby"), 15)
        api.push(message_update(1, "anyone there?"))
        await until_stored(a.services.pool, 1)  # the lease ran out and this node took it
        async with harness.run_server(settings) as b:
            await harness.until(lambda: _is(status(b), "standby"), 15)
            for n in range(2, 32):
                api.push(message_update(n, f"message {n}", user_id=700 + n % 5))
            await until_stored(b.services.pool, 31)
            assert (status(a), status(b)) == ("connected", "standby")
            await first_node.aclose()  # a graceful stop hands the lease over at once
            for n in range(32, 42):
                api.push(message_update(n, f"message {n}"))
            await until_stored(b.services.pool, 41)
            assert status(b) == "connected"
            texts = await b.services.pool.fetch(
                "SELECT text FROM messages WHERE channel = 'telegram' AND direction = 'in'"
            )
    assert len({r["text"] for r in texts}) == 41  # each stored once
    assert api.conflicts == 0  # never two getUpdates at once for one bot


async def _is(value: str, expected: str) -> bool:
    return value == expected


async def test_an_unreachable_bot_api_does_not_stop_the_server(
    dsn: str, tmp_path: Path, api: BotApi
) -> None:
    api.down = True
    async with harness.run_server(_settings(dsn, tmp_path, api)) as running:
        telegram = running.services.telegram
        assert telegram is not None

        async def retrying() -> bool:
            return bool(telegram.state()["status"] == "retrying")

        await harness.until(retrying, 10)
        async with httpx.AsyncClient(base_url=running.base_url) as http:
            ready = (await http.get("/readyz")).json()
            assert ready["ready"] is True
            assert ready["telegram"]["status"] == "retrying"
            # The last attempt's error, with what the Bot API's proxy answered.
            assert "502 Bad Gateway" in ready["telegram"]["error"]
        api.down = False
        await _connected(running)


async def test_webhook_updates_before_the_bot_connects_are_held_then_stored_once(
    dsn: str, tmp_path: Path, api: BotApi
) -> None:
    """While the Bot API cannot be reached (the bot's username unknown) the webhook still
    answers 200: each update is held, a redelivery once. A server stopped meanwhile leaves
    them held; the next one stores them as messages in order once connected, and none is
    left behind or stored twice."""
    api.down = True
    settings = _webhook_settings(dsn, tmp_path, api)
    held = "SELECT count(*) FROM telegram_held_updates"
    stored = "SELECT count(*) FROM messages WHERE channel = 'telegram' AND direction = 'in'"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    async def post(running: harness.RunningServer, n: int) -> int:
        async with httpx.AsyncClient(base_url=running.base_url) as http:
            update = message_update(n, f"question {n}", user_id=777)
            response = await http.post(WEBHOOK, json=update, headers=headers)
        return response.status_code

    async with harness.run_server(settings) as first:
        for n in (1, 2, 2, 3):  # Telegram delivers 2 again
            assert await post(first, n) == 200
        pool = first.services.pool
        assert await _count(pool, held) == 3
        assert await _count(pool, stored) == 0
    async with harness.run_server(settings) as second:
        assert await post(second, 4) == 200  # the Bot API is still down
        api.down = False
        await _connected(second)
        pool = second.services.pool
        assert await _count(pool, held) == 0  # "connected" comes once every held one is stored
        assert await _count(pool, stored) == 4
        assert await post(second, 2) == 200  # and again, once connected: a message already
        await _drained(pool)
        assert await _count(pool, stored) == 4
        texts = await pool.fetch(
            "SELECT text FROM messages WHERE channel = 'telegram' AND direction = 'in' ORDER BY id"
        )
    assert [r["text"] for r in texts] == [f"question {n}" for n in (1, 2, 3, 4)]


async def test_long_polling_killed_mid_stream_loses_nothing(
    dsn: str, tmp_path: Path, api: BotApi
) -> None:
    env = {
        "SWITCHBOARD_DATABASE_URL": dsn,
        "SWITCHBOARD_DATA_DIR": str(tmp_path),
        "SWITCHBOARD_SECRET_KEY": "telegram-kill-" + "k" * 32,
        "SWITCHBOARD_TELEGRAM_BOT_TOKEN": telegram_api.TOKEN,
        "SWITCHBOARD_TELEGRAM_API_URL": api.base_url,
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
    }
    total = 400
    for n in range(1, total + 1):
        api.push(message_update(n, f"m{n}", user_id=5000 + n % 25))
    conn = await asyncpg.connect(dsn)
    try:

        async def stored() -> int:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM messages WHERE channel = 'telegram' AND direction = 'in'"
                )
            )

        async def some() -> bool:
            return await stored() >= 50

        await harness.kill_mid_stream(env, some, within=60)
        assert await stored() < total  # killed mid-stream
        proc, _ = harness.spawn_server(env)
        try:

            async def everything() -> bool:
                return await stored() >= total

            await harness.until(everything, 90)

            async def offset_at_the_end() -> bool:
                # The poller is past the last update: nothing is left to store again.
                query = "SELECT position FROM channel_cursors WHERE channel = 'telegram'"
                return int(await conn.fetchval(query) or 0) == total

            await harness.until(offset_at_the_end, 30)
        finally:
            stop_process(proc, grace=20)
        ids = await conn.fetch(
            "SELECT external_id FROM messages WHERE channel = 'telegram' AND direction = 'in'"
        )
        assert len(ids) == len({r["external_id"] for r in ids}) == total
    finally:
        await conn.close()


async def test_webhook_killed_mid_stream_loses_no_acknowledged_update(
    dsn: str, tmp_path: Path, api: BotApi
) -> None:
    """Persist before the 200: a node killed (SIGKILL) while updates pour in has every update
    it answered 200 on disk; after the restart, with Telegram delivering again what got no
    200 (and some that did), each update is one message: none lost, none twice."""
    env = {
        "SWITCHBOARD_DATABASE_URL": dsn,
        "SWITCHBOARD_DATA_DIR": str(tmp_path),
        "SWITCHBOARD_SECRET_KEY": "telegram-hook-kill-" + "k" * 32,
        "SWITCHBOARD_TELEGRAM_BOT_TOKEN": telegram_api.TOKEN,
        "SWITCHBOARD_TELEGRAM_API_URL": api.base_url,
        "SWITCHBOARD_TELEGRAM_WEBHOOK_URL": "https://support.example.com" + WEBHOOK,
        "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
    }
    total = 1500
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    acked: set[int] = set()

    async def deliver(base_url: str, numbers: list[int]) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            slots = asyncio.Semaphore(10)

            async def post(n: int) -> None:
                update = message_update(n, f"k{n}", user_id=6000 + n % 20)
                async with slots:
                    try:
                        response = await http.post(WEBHOOK, json=update, headers=headers)
                    except httpx.HTTPError:
                        return  # the node died: no answer, so Telegram delivers it again
                if response.status_code == 200:
                    acked.add(n)

            await asyncio.gather(*(post(n) for n in numbers))

    async def some() -> bool:
        return len(acked) >= 100

    async def pour(base_url: str) -> None:
        await deliver(base_url, list(range(1, total + 1)))

    await harness.kill_mid_stream(env, some, pour)
    assert 100 <= len(acked) < total  # killed mid-stream
    before_restart = set(acked)
    conn = await asyncpg.connect(dsn)
    try:
        on_disk = "SELECT count(*) FROM telegram_held_updates"
        messages = "SELECT count(*) FROM messages WHERE channel = 'telegram' AND direction = 'in'"
        kept = int(await conn.fetchval(on_disk)) + int(await conn.fetchval(messages))
        assert kept >= len(before_restart)  # every 200 was on disk before it was sent
        proc, base_url = harness.spawn_server(env)
        try:
            again = [n for n in range(1, total + 1) if n not in before_restart]
            await deliver(base_url, again + sorted(before_restart)[:50])
            assert acked == set(range(1, total + 1))

            async def everything() -> bool:
                held = int(await conn.fetchval(on_disk))
                return held == 0 and int(await conn.fetchval(messages)) >= total

            await harness.until(everything, 180)
        finally:
            stop_process(proc, grace=20)
        ids = await conn.fetch(
            "SELECT external_id FROM messages WHERE channel = 'telegram' AND direction = 'in'"
        )
        numbers = [int(r["external_id"].split(":")[1]) for r in ids]
        assert len(numbers) == len(set(numbers)) == total  # none twice
        assert set(numbers) == set(range(1, total + 1))  # none lost
    finally:
        await conn.close()


async def test_an_agent_links_a_telegram_user_and_an_email_contact_as_one_person(
    dsn: str, tmp_path: Path, api: BotApi
) -> None:
    async with harness.run_server(_settings(dsn, tmp_path, api)) as running:
        await _connected(running)
        assert running.services.smtp is not None
        api.push(message_update(1, "Hi, it's Ada again"))
        await mail.send(running.services.smtp.port, mail.mail(message_id="ada-1@example.com"))
        pool = running.services.pool

        async def both() -> bool:
            return await _count(pool, "SELECT count(*) FROM conversations") == 2

        await harness.until(both, 15)
        await running.services.mailroom.settled()
        await running.services.pipeline.settled()
        telegram_conv = str(
            await pool.fetchval("SELECT id FROM conversations WHERE channel = 'telegram'")
        )
        async with httpx.AsyncClient(base_url=running.base_url) as http:
            login = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
            assert (await http.post("/console/api/login", json=login)).status_code == 200
            path = f"/console/api/conversations/{telegram_conv}/merge-contact"
            merged = await http.post(path, json={"contact": "ada@example.com"})
            assert merged.status_code == 200, merged.text
            assert merged.json()["contact"]["email"] == "ada@example.com"
            again = await http.post(path, json={"contact": "telegram:777"})
            assert again.status_code == 422  # the same contact now
            missing = await http.post(path, json={"contact": "nobody@example.com"})
            assert missing.status_code == 404
            assert (await http.post(path, json={})).status_code == 422
        contacts = await pool.fetch("SELECT DISTINCT contact_id FROM conversations")
        assert len(contacts) == 1  # both conversations: one person's history
        identities = await pool.fetch("SELECT channel FROM contact_identities ORDER BY channel")
        assert [r["channel"] for r in identities] == ["email", "telegram"]


async def test_each_bot_serves_its_own_brand(dsn: str, tmp_path: Path, api: BotApi) -> None:
    pool0 = await asyncpg.connect(dsn)
    try:
        await pool0.execute("INSERT INTO brands (slug, name) VALUES ('acme', 'Acme')")
    finally:
        await pool0.close()
    other_secret = "acme-secret"
    settings = _webhook_settings(
        dsn,
        tmp_path,
        api,
        telegram_bots=[
            {
                "token": telegram_api.OTHER_TOKEN,
                "brand": "acme",
                "webhook_url": "https://support.example.com" + WEBHOOK + "/654321",
                "webhook_secret": other_secret,
            }
        ],
    )
    async with harness.run_server(settings) as running:
        await _connected(running)
        assert api.webhooks[telegram_api.OTHER_TOKEN] == (
            "https://support.example.com" + WEBHOOK + "/654321"
        )
        async with httpx.AsyncClient(base_url=running.base_url) as http:
            update = message_update(1, "Hello Acme", user_id=4242)
            wrong = await http.post(
                WEBHOOK + "/654321",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
            assert wrong.status_code == 401  # each bot has its own secret
            for path, secret in ((WEBHOOK + "/654321", other_secret), (WEBHOOK, SECRET)):
                response = await http.post(
                    path, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
                )
                assert response.status_code == 200
        pool = running.services.pool
        await _drained(pool)
        await running.services.pipeline.settled()
        rows = await pool.fetch(
            "SELECT b.slug, i.address, c.id FROM conversations c JOIN inboxes i"
            " ON i.id = c.inbox_id JOIN brands b ON b.id = c.brand_id ORDER BY b.slug"
        )
        assert [(r["slug"], r["address"]) for r in rows] == [
            ("acme", "AcmeHelpBot"),
            ("demo", "DemoShopBot"),
        ]
        agent = str(await pool.fetchval("SELECT id FROM agents WHERE email = $1", demo.AGENT_EMAIL))
        await running.services.pipeline.reply(agent, str(rows[0]["id"]), "Acme here", "a1")

        async def answered() -> bool:
            return any(m["text"] == "Acme here" for m in api.sent)

        await harness.until(answered, 15)
        [sent] = [m for m in api.sent if m["text"] == "Acme here"]
        assert sent["via"] == telegram_api.OTHER_TOKEN  # the acme bot answered


async def test_a_webhook_past_its_held_limit_answers_503_and_counts_the_refusal(
    dsn: str, tmp_path: Path, api: BotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.services import telegram as service

    # No room at all: the very first update finds the node full.
    monkeypatch.setattr(service, "MAX_HELD", 0)
    settings = _webhook_settings(dsn, tmp_path, api)
    async with harness.run_server(settings) as running:
        await _connected(running)
        async with httpx.AsyncClient(base_url=running.base_url, timeout=30) as http:
            refused = await http.post(
                WEBHOOK,
                json=message_update(1, "anyone there?", user_id=1001),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
            assert refused.status_code == 503
            assert refused.headers["retry-after"]
            metrics = (await http.get("/metrics")).text
        assert 'switchboard_refused_total{channel="telegram"} 1.0' in metrics
        # Nothing was kept: Telegram delivers the update again later.
        assert (
            await _count(running.services.pool, "SELECT count(*) FROM telegram_held_updates") == 0
        )
