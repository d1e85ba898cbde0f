"""SWITCHBOARD_BOT_HUMAN_INTENTS against the project the bot is trained from: a name the
project does not define would never match, and the customers it was meant for would stay
with the bot without a word, so start-up refuses it."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from server.errors import ConfigurationError
from server.pipeline.bot import build_interpreter
from tests import harness

MOODBOT = Path(__file__).parents[2] / "nlu" / "data" / "moodbot"


async def test_names_the_project_does_not_define_are_refused(
    dsn: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    settings = harness.settings_for(
        dsn,
        tmp_path,
        nlu_engine="embedded",
        nlu_project=MOODBOT,
        bot_human_intents=["mood_unhappy", "negotiation", "legal"],
    )
    with pytest.raises(ConfigurationError) as refused:
        await build_interpreter(settings, pool)
    message = str(refused.value)
    assert "SWITCHBOARD_BOT_HUMAN_INTENTS" in message
    assert "legal, negotiation" in message
    assert "mood_unhappy" not in message


async def test_a_project_s_own_intents_and_the_default_list_start(
    dsn: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    # The default names the shipped bot's intents; another project that lacks them starts,
    # and an operator's list of its own intents is accepted.
    for extra in ({}, {"bot_human_intents": ["mood_unhappy"]}):
        settings = harness.settings_for(
            dsn, tmp_path, nlu_engine="embedded", nlu_project=MOODBOT, **extra
        )
        interpreter = await build_interpreter(settings, pool)
        assert interpreter is not None
        await interpreter.close()
