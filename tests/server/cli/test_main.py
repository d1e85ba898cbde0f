"""The `switchboard` command line, run as a real process against a real Postgres."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import asyncpg

from tests.harness import ROOT


def switchboard(dsn: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SWITCHBOARD_DATABASE_URL": dsn}
    return subprocess.run(
        [sys.executable, "-m", "server.cli.main", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def newest_migration() -> int:
    """The highest NNNN of the migrations folder's NNNN_name.sql files, read from the folder
    itself, so a new migration needs no edit here."""
    numbers = [
        int(found.group(1))
        for path in (ROOT / "server" / "store" / "migrations").iterdir()
        if (found := re.fullmatch(r"(\d{4})_\w+\.sql", path.name))
    ]
    assert numbers, "no migrations found"
    return max(numbers)


async def test_migrate_prints_the_schema_version(dsn: str) -> None:
    result = switchboard(dsn, "migrate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"schema version {newest_migration()}"


async def test_agent_create_stores_an_argon2_hash_and_refuses_duplicates(
    dsn: str, pool: asyncpg.Pool
) -> None:
    args = (
        "agent",
        "create",
        "--email",
        "sam@x.test",
        "--name",
        "Sam",
        "--password",
        "correct horse battery",
    )
    created = switchboard(dsn, *args)
    assert created.returncode == 0, created.stderr
    assert "created agent sam@x.test" in created.stdout
    stored = await pool.fetchval("SELECT password_hash FROM agents WHERE email = 'sam@x.test'")
    assert stored.startswith("$argon2id$")
    assert "correct horse battery" not in stored
    again = switchboard(dsn, *args)
    assert again.returncode == 2
    assert "exists" in again.stderr


async def test_agent_create_refuses_a_short_password(dsn: str) -> None:
    result = switchboard(
        dsn, "agent", "create", "--email", "a@x.test", "--name", "A", "--password", "short"
    )
    assert result.returncode == 2
    assert "at least 12 characters" in result.stderr


async def test_an_unreachable_database_is_a_clear_error(tmp_path: object) -> None:
    result = switchboard("postgresql://nobody@127.0.0.1:1/none", "migrate")
    assert result.returncode == 2
    assert "cannot connect to the database" in result.stderr
    assert "Traceback" not in result.stderr


async def test_contact_vip_marks_and_unmarks(dsn: str, pool: object) -> None:
    import asyncpg

    assert isinstance(pool, asyncpg.Pool)
    await pool.execute(
        "INSERT INTO contacts (brand_id, email) SELECT id, 'Big@Client.test' FROM brands"
    )
    # A web chat visitor who only typed the address gets none of the customer's standing.
    await pool.execute(
        "INSERT INTO contacts (brand_id, email, verified)"
        " SELECT id, 'big@client.test', false FROM brands"
    )
    marked = switchboard(dsn, "contact", "vip", "big@client.test")
    assert marked.returncode == 0, marked.stderr
    assert await pool.fetchval("SELECT vip FROM contacts WHERE email = 'Big@Client.test'")
    assert not await pool.fetchval("SELECT vip FROM contacts WHERE email = 'big@client.test'")
    switchboard(dsn, "contact", "vip", "big@client.test", "--off")
    assert not await pool.fetchval("SELECT vip FROM contacts WHERE email = 'Big@Client.test'")
    unknown = switchboard(dsn, "contact", "vip", "nobody@client.test")
    assert unknown.returncode == 2
    assert "no contact with email nobody@client.test" in unknown.stderr


def test_every_command_has_help() -> None:
    for args in (
        ["--help"],
        ["serve", "--help"],
        ["migrate", "--help"],
        ["seed-demo", "--help"],
        ["agent", "create", "--help"],
        ["contact", "vip", "--help"],
        ["nlu", "train", "--help"],
        ["nlu", "parse", "--help"],
        ["nlu", "evaluate", "--help"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "server.cli.main", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0
        assert "Usage" in result.stdout


async def test_the_organisation_is_set_up_from_the_command_line(dsn: str) -> None:
    import orjson

    assert switchboard(dsn, "skill", "add", "de", "--description", "German").returncode == 0
    done = switchboard(dsn, "team", "set", "dach", "--name", "DACH", "--assignment", "manual")
    assert done.returncode == 0, done.stderr
    done = switchboard(
        dsn,
        "agent",
        "set",
        "lea@demo.switchboard.test",
        "--capacity",
        "7",
        "--skills",
        "de,fr",
        "--teams",
        "dach,support",
    )
    assert done.returncode == 0, done.stderr
    agents = orjson.loads(switchboard(dsn, "agent", "list").stdout)
    lea = next(a for a in agents if a["email"] == "lea@demo.switchboard.test")
    assert (lea["capacity"], lea["skills"], lea["teams"]) == (7, ["de", "fr"], ["dach", "support"])
    done = switchboard(
        dsn,
        "sla",
        "set",
        "urgent",
        "--first-response",
        "2m",
        "--resolution",
        "1h",
        "--escalate",
        "30",
        "--notify",
        "dach",
    )
    assert done.returncode == 0, done.stderr
    policy = orjson.loads(done.stdout)
    assert (policy["first_response_seconds"], policy["notify_team"]) == (120, "dach")
    assert (
        switchboard(dsn, "intent", "route", "legal", "--skills", "de", "--team", "dach").returncode
        == 0
    )
    routes = orjson.loads(switchboard(dsn, "intent", "list").stdout)
    assert {"brand": "demo", "intent": "legal", "team": "dach", "skills": ["de"]} in routes
    done = switchboard(dsn, "brand", "set", "demo", "--hours", "mon-fri 08:00-17:00 Europe/Berlin")
    assert orjson.loads(done.stdout)["business_hours"] == "mon-fri 08:00-17:00 Europe/Berlin"


async def test_organisation_mistakes_are_one_line_and_change_nothing(dsn: str) -> None:
    cases = [
        (["agent", "set", "lea@demo.switchboard.test", "--capacity", "-1"], "capacity"),
        (["agent", "set", "lea@demo.switchboard.test", "--teams", "nope"], "no team 'nope'"),
        (["agent", "set", "ghost@example.com", "--capacity", "2"], "no agent"),
        (["sla", "set", "urgent", "--first-response", "soon", "--resolution", "1h"], "duration"),
        (["sla", "set", "critical", "--first-response", "1m", "--resolution", "1h"], "band"),
        (["brand", "set", "demo", "--hours", "always"], "business hours"),
        (["intent", "route", "greet", "--skills", "klingon"], "no skill klingon"),
    ]
    for args, message in cases:
        done = switchboard(dsn, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    conn = await asyncpg.connect(dsn)
    try:
        capacity = await conn.fetchval(
            "SELECT capacity FROM agents WHERE email = 'lea@demo.switchboard.test'"
        )
        assert capacity == 4
    finally:
        await conn.close()


def imported_by(*args: str) -> set[str]:
    """The modules `switchboard ARGS` imports (read from -X importtime)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "server.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }


def test_help_imports_neither_the_server_nor_the_nlu_libraries() -> None:
    """`switchboard --help` builds the command tree only: each command imports what it uses
    when it runs, so help does not load the server, the channels or the models."""
    modules = imported_by("--help")
    assert "server.cli.main" in modules
    heavy = {"server.bootstrap", "uvicorn", "sklearn", "lingua", "aiogram", "argon2", "starlette"}
    assert heavy.isdisjoint(modules), heavy & modules
