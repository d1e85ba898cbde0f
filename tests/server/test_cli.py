"""The `switchboard` command line, run as a real process against a real Postgres."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg

from tests.harness import ROOT


def switchboard(dsn: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SWITCHBOARD_DATABASE_URL": dsn}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_migrate_prints_the_schema_version(dsn: str) -> None:
    result = switchboard(dsn, "migrate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "schema version 3"


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
        "correct horse",
    )
    created = switchboard(dsn, *args)
    assert created.returncode == 0, created.stderr
    assert "created agent sam@x.test" in created.stdout
    stored = await pool.fetchval("SELECT password_hash FROM agents WHERE email = 'sam@x.test'")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    again = switchboard(dsn, *args)
    assert again.returncode == 2
    assert "exists" in again.stderr


async def test_agent_create_refuses_a_short_password(dsn: str) -> None:
    result = switchboard(
        dsn, "agent", "create", "--email", "a@x.test", "--name", "A", "--password", "short"
    )
    assert result.returncode == 2
    assert "at least 8 characters" in result.stderr


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
    marked = switchboard(dsn, "contact", "vip", "big@client.test")
    assert marked.returncode == 0, marked.stderr
    assert await pool.fetchval("SELECT vip FROM contacts WHERE email = 'Big@Client.test'")
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
            [sys.executable, "-m", "server.cli", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0
        assert "Usage" in result.stdout
