"""`switchboard brand|team|skill|agent|sla|intent|inbox|contact` changes, run as real processes
against a real Postgres: each is recorded in the audit log with the admin API's action, target
and detail, as done by the command line, and in the change's transaction (a refused change
leaves no entry, and a failed entry no change)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from server.services import demo
from tests.server.cli.test_main import switchboard


async def _entries(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT action, actor_label, brand_id::text AS brand_id, target_kind, target_id, detail"
        " FROM audit_log ORDER BY id"
    )
    return [dict(r) for r in rows]


def _ok(dsn: str, *args: str) -> Any:
    done = switchboard(dsn, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


async def test_brand_set_takes_the_retention_settings_and_is_audited(
    dsn: str, pool: asyncpg.Pool
) -> None:
    brand = _ok(
        dsn,
        "brand",
        "set",
        demo.BRAND_SLUG,
        "--language",
        "fr",
        "--retention-days",
        "365",
        "--events-retention-days",
        "forever",
        "--files-retention-days",
        "90",
        "--retention-action",
        "delete",
    )
    assert brand["language"] == "fr"
    assert brand["retention_action"] == "delete"
    assert (
        brand["retention_days"],
        brand["events_retention_days"],
        brand["files_retention_days"],
    ) == (365, None, 90)
    [listed] = _ok(dsn, "brand", "list")
    assert (listed["retention_days"], listed["files_retention_days"]) == (365, 90)
    assert listed["retention_action"] == "delete"

    brand_id = str(await pool.fetchval("SELECT id FROM brands WHERE slug = $1", demo.BRAND_SLUG))
    [entry] = await _entries(pool)
    assert entry["action"] == "brand.changed"
    assert entry["actor_label"].startswith("command line")
    assert (entry["brand_id"], entry["target_kind"], entry["target_id"]) == (
        brand_id,
        "brand",
        demo.BRAND_SLUG,
    )
    assert entry["detail"] == {
        "language": "fr",
        "retention_action": "delete",
        "retention_days": 365,
        "events_retention_days": None,
        "files_retention_days": 90,
    }

    # Refused: one line on stderr, exit status 2, nothing changed and nothing recorded.
    for option, value, says in [
        ("--retention-days", "soon", "--retention-days: a number of days, or 'forever'"),
        ("--files-retention-days", "0", "files_retention_days: a number of days from 1"),
        ("--retention-action", "shred", "retention_action: anonymise or delete"),
    ]:
        refused = switchboard(
            dsn, "brand", "set", demo.BRAND_SLUG, "--name", "Renamed", option, value
        )
        assert refused.returncode == 2
        assert says in refused.stderr
    assert await pool.fetchval("SELECT name FROM brands WHERE slug = $1", demo.BRAND_SLUG) == (
        "Demo Shop"
    )
    assert len(await _entries(pool)) == 1


async def test_every_organisation_change_is_audited_as_the_admin_api_records_it(
    dsn: str, pool: asyncpg.Pool
) -> None:
    brand_id = str(await pool.fetchval("SELECT id FROM brands WHERE slug = $1", demo.BRAND_SLUG))
    lea = str(
        await pool.fetchval("SELECT id FROM agents WHERE email = 'lea@demo.switchboard.test'")
    )
    contact = str(
        await pool.fetchval(
            "INSERT INTO contacts (brand_id, name, email) VALUES ($1::uuid, 'Ada',"
            " 'ada@example.com') RETURNING id",
            brand_id,
        )
    )
    _ok(dsn, "skill", "add", "returns", "--description", "sending things back")
    team = _ok(dsn, "team", "set", "returns", "--name", "Returns", "--assignment", "manual")
    _ok(dsn, "agent", "set", "lea@demo.switchboard.test", "--capacity", "3")
    _ok(
        dsn,
        "agent",
        "set",
        "lea@demo.switchboard.test",
        "--teams",
        "support,returns",
        "--roles",
        "agent,editor",
        "--brand",
        demo.BRAND_SLUG,
    )
    _ok(dsn, "sla", "set", "high", "--first-response", "30m", "--resolution", "1d")
    _ok(dsn, "intent", "route", "return_item", "--skills", "returns", "--team", "returns")
    _ok(dsn, "intent", "unroute", "return_item")
    _ok(dsn, "inbox", "add", "email", "returns@demo.switchboard.test", "--team", "returns")
    _ok(dsn, "inbox", "team", "email", "returns@demo.switchboard.test")
    _ok(dsn, "team", "delete", "returns")
    _ok(dsn, "skill", "delete", "returns")
    assert _ok(dsn, "contact", "profile", "ada@example.com", "--tier", "gold") == 1
    secret = _ok(dsn, "inbox", "identity-secret", demo.WEBCHAT_INBOX)
    assert _ok(dsn, "inbox", "identity-secret", demo.WEBCHAT_INBOX, "--status")[
        "identity_verification"
    ]
    _ok(dsn, "inbox", "identity-secret", demo.WEBCHAT_INBOX, "--off")

    entries = await _entries(pool)
    assert all(e["actor_label"].startswith("command line") for e in entries)
    inbox = "email:returns@demo.switchboard.test"
    assert [
        (e["action"], e["brand_id"], e["target_kind"], e["target_id"], e["detail"]) for e in entries
    ] == [
        (
            "skill.changed",
            None,
            "skill",
            "returns",
            {"name": "returns", "description": "sending things back"},
        ),
        (
            "team.changed",
            brand_id,
            "team",
            team["id"],
            {"name": "Returns", "assignment": "manual"},
        ),
        ("agent.changed", None, "agent", lea, {"capacity": 3}),
        # Role and team changes are actions of their own, each with the whole change.
        *[
            (
                action,
                brand_id,
                "agent",
                lea,
                {
                    "teams": ["support", "returns"],
                    "brand": demo.BRAND_SLUG,
                    "roles": ["agent", "editor"],
                },
            )
            for action in ("agent.role_changed", "agent.teams_changed")
        ],
        (
            "sla.changed",
            brand_id,
            "sla_policy",
            "high",
            {
                "brand": None,
                "first_response_seconds": 1800,
                "resolution_seconds": 86400,
                "escalation_points": 0,
                "notify_team": None,
            },
        ),
        (
            "intent_route.changed",
            brand_id,
            "intent_route",
            "return_item",
            {"brand": None, "skills": ["returns"], "team": "returns"},
        ),
        ("intent_route.deleted", brand_id, "intent_route", "return_item", {}),
        ("inbox.changed", brand_id, "inbox", inbox, {"team": "returns"}),
        ("inbox.changed", None, "inbox", inbox, {"team": None}),
        ("team.deleted", brand_id, "team", team["id"], {"slug": "returns"}),
        ("skill.deleted", None, "skill", "returns", {}),
        ("contact.changed", brand_id, "contact", contact, {"tier": "gold"}),
        (
            "inbox.identity_secret_set",
            brand_id,
            "inbox",
            f"webchat:{demo.WEBCHAT_INBOX}",
            {"generated": True},
        ),
        ("inbox.identity_secret_cleared", brand_id, "inbox", f"webchat:{demo.WEBCHAT_INBOX}", {}),
    ]
    # The secret is printed once, never recorded.
    assert secret["identity_secret"]
    assert secret["identity_secret"] not in json.dumps([e["detail"] for e in entries])


async def test_a_refused_change_is_not_recorded(dsn: str, pool: asyncpg.Pool) -> None:
    for args in [
        ("team", "delete", "no-such-team"),
        ("agent", "set", "nobody@example.com", "--capacity", "2"),
        ("sla", "set", "high", "--first-response", "soon", "--resolution", "1d"),
        ("intent", "route", "x", "--skills", "no-such-skill"),
    ]:
        refused = switchboard(dsn, *args)
        assert refused.returncode == 2, (args, refused.stderr)
        assert refused.stderr.startswith("error: ")
    assert await _entries(pool) == []


async def test_agent_create_is_audited_without_the_password(dsn: str, pool: asyncpg.Pool) -> None:
    password = "a long and uncommon passphrase 8812"
    created = switchboard(
        dsn,
        "agent",
        "create",
        "--email",
        "kim@demo.switchboard.test",
        "--name",
        "Kim Lee",
        "--role",
        "agent,analyst",
        "--brand",
        demo.BRAND_SLUG,
        "--password",
        password,
    )
    assert created.returncode == 0, created.stderr
    kim = str(
        await pool.fetchval("SELECT id FROM agents WHERE email = 'kim@demo.switchboard.test'")
    )
    brand_id = str(await pool.fetchval("SELECT id FROM brands WHERE slug = $1", demo.BRAND_SLUG))
    [entry] = await _entries(pool)
    assert entry["actor_label"].startswith("command line")
    assert (entry["action"], entry["brand_id"], entry["target_kind"], entry["target_id"]) == (
        "agent.created",
        brand_id,
        "agent",
        kim,
    )
    assert entry["detail"] == {
        "email": "kim@demo.switchboard.test",
        "name": "Kim Lee",
        "roles": ["agent", "analyst"],
        "brand": demo.BRAND_SLUG,
    }
    assert password not in json.dumps(entry["detail"])
