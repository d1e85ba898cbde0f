"""The handoff summary over HTTP: extractive in the context panel's one call, a chat model's
(from a local stand-in speaking the chat-completions JSON) on its own endpoint, cached per
version of the conversation, and the extractive one kept whenever the model fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.services import demo
from tests.harness import RunningServer, run_server, settings_for
from tests.nlu.llm_standin import StandIn, llm_standin
from tests.web_console.brands import conversation_in, message_from, person, signed_in


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    async with llm_standin() as running:
        yield running


@pytest.fixture
async def llm_server(dsn: str, tmp_path: Path, standin: StandIn) -> AsyncIterator[RunningServer]:
    settings = settings_for(
        dsn, tmp_path, llm_url=standin.url, llm_model="stand-in-7b", llm_timeout_seconds=1.0
    )
    async with run_server(settings) as running:
        yield running


async def test_the_context_carries_the_extractive_summary_with_facts_linked_to_messages(
    server: RunningServer,
) -> None:
    await demo.seed_other_brand(server.services.pool)  # whose supervisor must not see it
    shop = await conversation_in(server, demo.WEBCHAT_INBOX, "my order 10234 never came")
    later = await message_from(
        server, demo.WEBCHAT_INBOX, shop, "I paid 49,90 € on 2 December, mail me at jo@example.com"
    )
    await server.services.pipeline.settled()
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    base = f"/console/api/conversations/{shop.conversation_id}"
    summary = (await sam.get(f"{base}/context")).json()["summary"]
    # Without a bot nothing was recognised: the longest message says what they want.
    assert summary["wants"] == (
        "The customer wrote: “I paid 49,90 € on 2 December, mail me at jo@example.com”."
    )
    assert summary["stopped"] == (
        "It handed over because no bot answers this inbox, on “my order 10234 never came”."
    )
    assert (summary["request_seq"], summary["trigger_seq"]) == (3, 1)  # 2: the acknowledgement
    assert summary["tried"] == "The bot did not answer."
    assert [(f["kind"], f["value"], f["message_id"]) for f in summary["facts"]] == [
        ("order", "10234", shop.message_id),
        ("amount", "49.90 EUR", later),
        ("date", f"{summary['facts'][2]['value'][:4]}-12-02", later),
        ("email", "jo@example.com", later),
    ]
    assert summary["text"].endswith(
        "Key facts: order 10234, 49.90 EUR, " + summary["facts"][2]["value"] + ", jo@example.com."
    )
    # Without SWITCHBOARD_LLM_URL the summary endpoint says so and gives the same paragraph.
    answer = (await sam.get(f"{base}/summary")).json()
    assert answer == {"extractive": summary, "abstractive": None, "llm": "off"}
    # Another brand's supervisor: no such conversation, on both.
    ines = await signed_in(server, await person(server, demo.OTHER_BRAND_SLUG, "supervisor"))
    assert (await ines.get(f"{base}/summary")).status_code == 404
    assert (await sam.get("/console/api/conversations/not-an-id/summary")).status_code == 404
    await sam.aclose()
    await ines.aclose()


async def test_the_models_summary_and_drafts_come_from_the_transcript_once_per_version(
    llm_server: RunningServer, standin: StandIn
) -> None:
    shop = await conversation_in(llm_server, demo.WEBCHAT_INBOX, "where is my order 10234?")
    await llm_server.services.pipeline.settled()
    sam = await signed_in(llm_server, await person(llm_server, demo.BRAND_SLUG, "supervisor"))
    url = f"/console/api/conversations/{shop.conversation_id}/summary"
    answer = (await sam.get(url)).json()
    assert answer["llm"] == "ready"
    assert answer["abstractive"]["model"] == "stand-in-7b"
    assert answer["abstractive"]["text"].startswith("The customer wants order 10234")
    assert len(answer["abstractive"]["drafts"]) == 3
    assert answer["extractive"]["facts"][0]["value"] == "10234"
    [sent] = standin.requests
    assert sent["model"] == "stand-in-7b"
    assert "[1] Customer: where is my order 10234?" in sent["messages"][1]["content"]
    # The suggested replies take the drafts in the places left empty (no bot, no past case).
    suggested = (await sam.get(f"{url[: -len('/summary')]}/suggestions")).json()["suggestions"]
    assert [(s["source"], s["text"]) for s in suggested] == [
        ("llm", d) for d in answer["abstractive"]["drafts"]
    ]
    # A second open of the same conversation: from the cache.
    assert (await sam.get(url)).json() == answer
    assert len(standin.requests) == 1
    # The reply drafts, for the suggested replies.
    backend = llm_server.services.console_backend
    agent = await llm_server.services.agents.agent(
        (await sam.get("/console/api/me")).json()["agent"]["id"]
    )
    assert agent is not None
    drafts = await backend.reply_drafts(agent, shop.conversation_id)
    assert [d["source"] for d in drafts] == ["llm"] * 3
    assert drafts[0]["text"].startswith("I am sorry for the wait")
    # A new message is a new version: asked again.
    await message_from(llm_server, demo.WEBCHAT_INBOX, shop, "hello??")
    await llm_server.services.pipeline.settled()
    assert (await sam.get(url)).json()["llm"] == "ready"
    assert len(standin.requests) == 2
    await sam.aclose()


async def test_a_slow_or_broken_model_leaves_the_extractive_summary(
    llm_server: RunningServer, standin: StandIn
) -> None:
    sam = await signed_in(llm_server, await person(llm_server, demo.BRAND_SLUG, "supervisor"))
    # One conversation per way of failing (a failure is remembered per conversation version).
    for n, mode in enumerate(["slow", "garbage", "prose", "error"]):
        standin.mode = mode
        shop = await conversation_in(llm_server, demo.WEBCHAT_INBOX, f"refund for order 1037{n}")
        await llm_server.services.pipeline.settled()
        base = f"/console/api/conversations/{shop.conversation_id}"
        # The context never asks the model.
        context = (await sam.get(f"{base}/context")).json()
        assert context["summary"]["facts"][0]["value"] == f"1037{n}"
        assert len(standin.requests) == n
        answer = (await sam.get(f"{base}/summary")).json()
        assert answer["llm"] == "unavailable", mode
        assert answer["abstractive"] is None
        assert answer["extractive"] == context["summary"]
        assert len(standin.requests) == n + 1
        # Asked again within the minute: not sent again.
        assert (await sam.get(f"{base}/summary")).json()["llm"] == "unavailable"
        assert len(standin.requests) == n + 1
    await sam.aclose()
