"""bench/wrk.py and bench/webhook_load.lua against the bare endpoint: what wrk sends is what
each webhook's receiver accepts (Telegram's secret token and update_id, Slack's v0
signature), and wrk's summary is read back. Behaviour only: no figure is asserted."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator

import pytest

from bench import stand_ins, wrk
from bench.processes import process

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="needs wrk: `make bench-deps` installs it"
)
SECRET = "test-secret"


@pytest.fixture(scope="module")
def bare() -> Iterator[str]:
    command = [sys.executable, "-m", "bench.bare_webhook", SECRET]
    with process(command, {}, "port", grace=5) as (_, line):
        yield f"http://127.0.0.1:{line.split()[1]}"


@pytest.mark.parametrize(
    ("path", "kind", "secret"),
    [
        ("/channels/telegram/webhook", "telegram", SECRET),
        ("/channels/slack/events", "slack", stand_ins.SLACK_SIGNING_SECRET),
    ],
)
async def test_every_generated_webhook_is_accepted_by_a_checking_receiver(
    bare: str, path: str, kind: str, secret: str
) -> None:
    load = await wrk.run(bare + path, kind, secret, seconds=1, connections=2)
    assert load.requests > 0
    assert load.non2xx == 0, load.first_failure
    assert load.socket_errors == 0
    assert load.acknowledged <= load.generated
    assert load.command.startswith("wrk ")
    assert kind in load.command


async def test_a_wrong_secret_is_counted_as_non_2xx_with_its_status(bare: str) -> None:
    load = await wrk.run(
        bare + "/channels/slack/events", "slack", "not-the-secret", seconds=1, connections=1
    )
    assert load.requests > 0
    assert load.non2xx == load.requests
    assert load.first_failure.startswith("401")
