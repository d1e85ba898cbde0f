"""Who reaches a person, through the live web chat with the embedded engine (issue 17).

The labelled set (tests/routing/data/handoff.yml) holds first messages that need a person in
ten categories, routine ones the bot should keep, and multi-turn conversations, in English and
French. Each first message opens its own widget session; each conversation is played turn by
turn. The floors sit a few points under what was measured (figures in the docstrings); the
held-out part was written with the rest and run only once the detectors were done.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from websockets.asyncio.client import ClientConnection

from tests import harness
from tests.channels.webchat_client import hello, new_session, next_frame, open_socket, text

LABELLED = yaml.safe_load(
    (Path(__file__).parents[1] / "routing" / "data" / "handoff.yml").read_text()
)
ROUTINE = "routine"
# Several customers at once, as on a live site; few enough for two busy cores.
CUSTOMERS_AT_ONCE = 8


@pytest.fixture(scope="module")
def nlu_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-cache")


@pytest.fixture
async def server(dsn: str, tmp_path: Path, nlu_cache: Path) -> AsyncIterator[harness.RunningServer]:
    settings = harness.settings_for(dsn, tmp_path, nlu_engine="embedded", nlu_cache_dir=nlu_cache)
    async with harness.run_server(settings) as running:
        yield running


async def say(ws: ClientConnection, words: str) -> str:
    """Send one message; returns its conversation once the server has acknowledged it."""
    await ws.send(text({"type": "message", "client_id": str(uuid.uuid4()), "text": words}))
    while (frame := await next_frame(ws, within=30))["type"] != "ack":
        pass
    conversation: str = frame["conversation_id"]
    return conversation


async def outcome(server: harness.RunningServer, conversation: str) -> dict[str, Any]:
    row = await server.services.pool.fetchrow(
        "SELECT status, handoff_reason, band FROM conversations WHERE id = $1",
        uuid.UUID(conversation),
    )
    assert row is not None
    return dict(row)


async def first_messages(
    server: harness.RunningServer, part: str
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Each first message from a new widget visitor: (category, language, text, outcome)."""
    gate = asyncio.Semaphore(CUSTOMERS_AT_ONCE)

    async def one(category: str, language: str, words: str) -> tuple[str, str, str, str]:
        async with gate:
            session = await new_session(server.base_url)
            async with await open_socket(server.ws_url) as ws:
                await hello(ws, session["token"])
                conversation = await say(ws, words)
                await server.services.pipeline.settled()
        return category, language, words, conversation

    sent = await asyncio.gather(
        *(
            one(category, language, words)
            for category, languages in LABELLED[part].items()
            for language, messages in languages.items()
            for words in messages
        )
    )
    await server.services.pipeline.settled()
    return [(c, lang, w, await outcome(server, conv)) for c, lang, w, conv in sent]


def report(results: list[tuple[str, str, str, dict[str, Any]]]) -> dict[str, float]:
    """Handoff rate per category and language, printed (pytest -s) and returned."""
    handed: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for category, language, _, seen in results:
        handed[(category, language)].append(seen["status"] != "bot")
    rates = {}
    for (category, language), flags in sorted(handed.items()):
        rates[f"{category}/{language}"] = sum(flags) / len(flags)
        print(f"{category:18} {language}  {sum(flags):3}/{len(flags):3} handed over")
    for language in ("en", "fr", "all"):
        need = [
            f
            for (c, lang), fs in handed.items()
            for f in fs
            if c != ROUTINE and language in (lang, "all")
        ]
        keep = [
            f
            for (c, lang), fs in handed.items()
            for f in fs
            if c == ROUTINE and language in (lang, "all")
        ]
        rates[f"recall/{language}"] = sum(need) / len(need)
        rates[f"needless/{language}"] = sum(keep) / len(keep)
        print(
            f"{language}: recall {rates[f'recall/{language}']:.3f} ({sum(need)}/{len(need)}),"
            f" needless handoffs {rates[f'needless/{language}']:.3f} ({sum(keep)}/{len(keep)})"
        )
    for category, language, words, seen in results:
        if (seen["status"] != "bot") != (category != ROUTINE):
            print(f"  missed {category}/{language}: {words!r} -> {seen}")
    return rates


@pytest.mark.parametrize("part", ["tuning", "held_out"])
async def test_first_messages_that_need_a_person_reach_one(
    server: harness.RunningServer, part: str
) -> None:
    """Measured through the widget (embedded engine) when the detectors were done:
    tuning part recall 1.000 (248/248, en and fr), needless handoffs 0/70 (en) and 4/70 (fr:
    a password-reset question the classifier took for negotiation, a child-lock question
    and a tracking-number question the bot itself handed over, an order-history question
    it took for out of scope); held-out part, run once at the end, recall 36/36 (en) and
    35/36 (fr: a courier asking for the card's code), needless handoffs 0/25 and 0/25."""
    results = await first_messages(server, part)
    rates = report(results)
    for language in ("en", "fr"):
        assert rates[f"recall/{language}"] >= 0.94
        assert rates[f"needless/{language}"] <= 0.1
    # A safety incident or a taken-over account is urgent, not normal.
    for category, _, words, seen in results:
        if category in ("safety", "account_takeover") and seen["status"] != "bot":
            assert seen["band"] == "urgent", (words, seen)


@pytest.mark.parametrize("part", ["tuning", "held_out"])
async def test_conversations_reach_a_person_when_they_need_one(
    server: harness.RunningServer, part: str
) -> None:
    """Played turn by turn: each conversation that needs a person reaches one by its last
    turn; those that do not stay with the bot throughout. Measured 22/22 (tuning) and 10/10
    (held out)."""
    wrong = []
    for conversation in LABELLED["conversations"][part]:
        session = await new_session(server.base_url)
        async with await open_socket(server.ws_url) as ws:
            await hello(ws, session["token"])
            handed = False
            for words in conversation["turns"]:
                conversation_id = await say(ws, str(words))
                await server.services.pipeline.settled()
                if (await outcome(server, conversation_id))["status"] != "bot":
                    handed = True
                    break
        if handed != conversation["needs_human"]:
            wrong.append(conversation["turns"])
    print(f"{part}: {len(LABELLED['conversations'][part]) - len(wrong)} conversations right")
    for turns in wrong:
        print("  wrong:", turns)
    assert len(wrong) <= 1
