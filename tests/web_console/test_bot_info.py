"""What the console reads about the bot (GET /console/api/bot): a designer sees what the
embedded engine's Rasa project asks for that the engine does not do, file and line, as
`switchboard nlu train` and /readyz say it; other roles are refused."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.services import demo
from tests import harness
from tests.web_console.brands import person, signed_in

MOODBOT = harness.ROOT / "tests" / "nlu" / "data" / "moodbot"


@pytest.fixture
async def bot_server(dsn: str, tmp_path: Path) -> AsyncIterator[harness.RunningServer]:
    project = tmp_path / "project"
    shutil.copytree(MOODBOT, project)
    config = project / "config.yml"
    config.write_text(config.read_text() + "  - name: TEDPolicy\n    epochs: 10\n")
    settings = harness.settings_for(
        dsn, tmp_path, nlu_engine="embedded", nlu_project=project, nlu_cache_dir=tmp_path / "c"
    )
    async with harness.run_server(settings) as running:
        yield running


async def test_a_designer_reads_what_the_engine_does_not_run(
    bot_server: harness.RunningServer,
) -> None:
    designer = await signed_in(bot_server, await person(bot_server, demo.BRAND_SLUG, "designer"))
    answer = await designer.get("/console/api/bot")
    assert answer.status_code == 200, answer.text
    bot = answer.json()
    assert (bot["kind"], bot["error"]) == ("embedded", None)
    [note] = [n for n in bot["unsupported"] if "TEDPolicy" in n]
    assert note.startswith("config.yml:")
    assert "policy TEDPolicy: no TED generalisation" in note
    assert "project" not in bot  # where the files are on disk is not the console's business
    ready = (await designer.get("/readyz")).json()
    assert ready["nlu"]["unsupported"] == bot["unsupported"]
    await designer.aclose()


async def test_an_agent_may_not_read_it(bot_server: harness.RunningServer) -> None:
    agent = await signed_in(bot_server, await person(bot_server, demo.BRAND_SLUG, "agent"))
    assert (await agent.get("/console/api/bot")).status_code == 403
    await agent.aclose()
