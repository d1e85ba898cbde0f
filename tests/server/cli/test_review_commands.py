"""`switchboard nlu review` as a real process against a real Postgres with seeded
interpretations and a copy of the shipped project: list (table and JSON), label (the example
written into the files, a version with the trainer as author), ignore, and refusals as one
line with exit status 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from nlu.project import SHIPPED_PROJECT
from server.services import demo
from server.services.agents import create_agent
from tests.server.store.history import Story, write

ROOT = Path(__file__).resolve().parents[3]
DAYS = ("--from", "2026-03-01", "--to", "2026-03-08")


def review(dsn: str, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SWITCHBOARD_DATABASE_URL": dsn, "SWITCHBOARD_NLU_PROJECT": str(project)}
    return subprocess.run(
        [sys.executable, "-m", "server.cli.main", "nlu", "review", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _said(conn: Any, conversation: UUID, text: str, intent: str, confidence: float) -> int:
    nlu = {"text": text, "intent": intent, "confidence": confidence, "ranking": [], "entities": []}
    found = await conn.fetchval(
        "UPDATE messages SET text = $2, nlu = $3, language = 'en' WHERE conversation_id = $1"
        " AND author_kind = 'customer' RETURNING id",
        conversation,
        text,
        nlu,
    )
    return int(found)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(SHIPPED_PROJECT, copy)
    return copy


@pytest.fixture
async def seeded(pool: asyncpg.Pool) -> dict[str, int]:
    await demo.seed_other_brand(pool)
    async with pool.acquire() as conn:
        shells = await write(conn, Story(0, bot_reply=2))
        gibberish = await write(conn, Story(60, bot_reply=2))
        theirs = await write(conn, Story(120, bot_reply=2, brand=demo.OTHER_BRAND_SLUG))
        ids = {
            "shells": await _said(conn, shells, "can I pay with seashells", "order_status", 0.2),
            "gibberish": await _said(conn, gibberish, "qwzx plok", "nlu_fallback", 0.9),
            "theirs": await _said(conn, theirs, "can I pay in shells", "order_status", 0.1),
        }
    await create_agent(
        pool,
        email="trainer@example.test",
        name="Tess Trainer",
        password="correct-horse-battery",
        role="designer",
        brand=demo.BRAND_SLUG,
    )
    return ids


async def test_list_label_and_ignore_from_the_terminal(
    dsn: str, pool: asyncpg.Pool, seeded: dict[str, int], project: Path
) -> None:
    listed = review(dsn, project, "list", *DAYS, "--json")
    assert listed.returncode == 0, listed.stderr
    items = {i["item"]["message_id"]: i["item"] for i in json.loads(listed.stdout)["items"]}
    assert set(items) == set(seeded.values())  # the operator sees every brand
    table = review(dsn, project, "list", *DAYS, "--brand", demo.BRAND_SLUG)
    assert "can I pay with seashells" in table.stdout
    assert "can I pay in shells" not in table.stdout

    labelled = review(
        dsn,
        project,
        "label",
        str(seeded["shells"]),
        "--intent",
        "pay_with_shells",
        "--by",
        "trainer@example.test",
    )
    assert labelled.returncode == 0, labelled.stderr
    assert "labelled 1 as pay_with_shells in data/nlu.yml, version" in labelled.stdout
    assert "    - can I pay with seashells\n" in (project / "data" / "nlu.yml").read_text()
    ignored = review(
        dsn, project, "ignore", str(seeded["gibberish"]), "--by", "trainer@example.test"
    )
    assert ignored.returncode == 0, ignored.stderr
    still = review(dsn, project, "list", *DAYS, "--brand", demo.BRAND_SLUG, "--json")
    assert json.loads(still.stdout)["items"] == []
    async with pool.acquire() as conn:
        author = await conn.fetchval("SELECT author_name FROM bot_versions")
        verdicts = await conn.fetch("SELECT status, reviewer FROM bot_reviews ORDER BY 1")
    assert author == "Tess Trainer"
    assert [(v["status"], v["reviewer"]) for v in verdicts] == [
        ("ignored", "trainer@example.test"),
        ("relabelled", "trainer@example.test"),
    ]


async def test_refusals_are_one_line_and_exit_2(
    dsn: str, seeded: dict[str, int], project: Path
) -> None:
    before = (project / "data" / "nlu.yml").read_text()
    for args, said in (
        (("list", "--band", "tepid"), "--band: one of"),
        (("list", "--from", "March"), "--from: a date"),
        (("list", "--brand", "nope"), "no brand 'nope'"),
        (
            ("label", str(seeded["theirs"]), "--intent", "x", "--by", "trainer@example.test"),
            f"no message {seeded['theirs']}",
        ),
        (
            ("label", str(seeded["shells"]), "--intent", "a b", "--by", "trainer@example.test"),
            "intent:",
        ),
        (("ignore", str(seeded["shells"]), "--by", "nobody@example.test"), "nobody"),
    ):
        done = review(dsn, project, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert said in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert (project / "data" / "nlu.yml").read_text() == before
