"""`switchboard contacts export|erase` and `switchboard audit list`, run as real processes
against a real Postgres."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import asyncpg

from tests.server.cli.test_main import switchboard


async def _contact(pool: asyncpg.Pool) -> str:
    """A web chat contact with one conversation and one message."""
    async with pool.acquire() as conn, conn.transaction():
        contact = await conn.fetchval(
            "INSERT INTO contacts (brand_id, name, email) SELECT id, 'Cli Customer',"
            " 'cli@example.com' FROM brands WHERE slug = 'demo' RETURNING id"
        )
        await conn.execute(
            "INSERT INTO contact_identities (contact_id, channel, external_id)"
            " VALUES ($1, 'webchat', 'visitor-cli-1')",
            contact,
        )
        conversation = await conn.fetchval(
            "INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, last_seq)"
            " SELECT brand_id, id, $1, 'webchat', 1 FROM inboxes WHERE address = 'demo-web'"
            " RETURNING id",
            contact,
        )
        await conn.execute(
            "INSERT INTO messages (conversation_id, seq, direction, author_kind, channel, text)"
            " VALUES ($1, 1, 'in', 'customer', 'webchat', 'my order never came')",
            conversation,
        )
    return str(contact)


async def test_a_contact_is_exported_then_erased_from_the_command_line(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    contact = await _contact(pool)
    target = tmp_path / "contact.zip"
    exported = switchboard(dsn, "contacts", "export", contact, "-o", str(target))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith(f"wrote {target} (")
    with zipfile.ZipFile(target) as archive:
        assert json.loads(archive.read("contact.json"))["name"] == "Cli Customer"
        [message] = json.loads(archive.read("messages.json"))
        assert message["text"] == "my order never came"
    assert not (tmp_path / "contact.zip.part").exists()

    # Without --yes it asks, and a "no" changes nothing.
    declined = switchboard(dsn, "contacts", "erase", contact, stdin="n\n")
    assert declined.returncode == 1
    assert "cannot be undone" in declined.stdout
    assert await pool.fetchval("SELECT name FROM contacts WHERE id = $1::uuid", contact)

    erased = switchboard(dsn, "contacts", "erase", contact, "--yes")
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout.startswith(f"erased contact {contact}: 1 conversations, 1 messages")
    row = await pool.fetchrow(
        "SELECT name, email, erased_at FROM contacts WHERE id = $1::uuid", contact
    )
    assert row is not None
    assert (row["name"], row["email"]) == (None, None)
    assert row["erased_at"] is not None
    assert await pool.fetchval("SELECT text FROM messages") == "[erased]"

    listed = switchboard(dsn, "audit", "list", "--action", "contact.", "--since", "2000-01-01")
    assert listed.returncode == 0, listed.stderr
    entries = json.loads(listed.stdout)
    assert [e["action"] for e in entries] == ["contact.erased", "contact.exported"]
    assert {e["target_id"] for e in entries} == {contact}
    assert all(e["actor_label"].startswith("command line") for e in entries)
    only = switchboard(dsn, "audit", "list", "--target", f"contact:{contact}", "--limit", "1")
    assert [e["action"] for e in json.loads(only.stdout)] == ["contact.erased"]


async def test_mistakes_are_one_line_and_exit_2(dsn: str, tmp_path: Path) -> None:
    unknown = switchboard(
        dsn, "contact", "export", "00000000-0000-0000-0000-000000000000", "-o", str(tmp_path / "x")
    )
    assert unknown.returncode == 2
    assert "no contact '00000000-0000-0000-0000-000000000000'" in unknown.stderr
    assert not (tmp_path / "x").exists()
    assert not (tmp_path / "x.part").exists()
    for args, message in (
        (["--since", "yesterday"], "--since: 'yesterday' is not an ISO 8601 date or time"),
        (["--action", "Not An Action"], "action: 'Not An Action' is not an action"),
        (["--brand", "nope"], "no brand 'nope'"),
    ):
        refused = switchboard(dsn, "audit", "list", *args)
        assert refused.returncode == 2, args
        assert message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
