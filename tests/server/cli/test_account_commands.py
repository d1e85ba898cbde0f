"""`switchboard agent invite|deactivate|reactivate|second-factor-off` and `agent create
--invite`, run as real processes against a real Postgres."""

from __future__ import annotations

import asyncpg

from server.services import demo
from tests.server.cli.test_main import switchboard


async def test_an_invite_prints_its_link_without_a_relay(dsn: str, pool: asyncpg.Pool) -> None:
    created = switchboard(
        dsn, "agent", "create", "--email", "kai@x.test", "--name", "Kai", "--invite"
    )
    assert created.returncode == 0, created.stderr
    assert "created agent kai@x.test" in created.stdout
    assert "/console/password#token=" in created.stdout
    assert "not mailed (no relay set)" in created.stdout
    actor = await pool.fetchval(
        "SELECT actor_label FROM audit_log WHERE action = 'agent.invited' ORDER BY id DESC LIMIT 1"
    )
    assert actor.startswith("command line")
    missing = switchboard(dsn, "agent", "invite", "nobody@x.test")
    assert missing.returncode == 2
    assert "no agent" in missing.stderr


async def test_deactivate_and_reactivate(dsn: str, pool: asyncpg.Pool) -> None:
    off = switchboard(dsn, "agent", "deactivate", demo.AGENT_EMAIL)
    assert off.returncode == 0, off.stderr
    assert (
        await pool.fetchval("SELECT active FROM agents WHERE email = $1", demo.AGENT_EMAIL) is False
    )
    on = switchboard(dsn, "agent", "reactivate", demo.AGENT_EMAIL)
    assert on.returncode == 0, on.stderr
    assert await pool.fetchval("SELECT active FROM agents WHERE email = $1", demo.AGENT_EMAIL)


async def test_second_factor_off(dsn: str, pool: asyncpg.Pool) -> None:
    await pool.execute(
        "UPDATE agents SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE email = $1", demo.AGENT_EMAIL
    )
    done = switchboard(dsn, "agent", "second-factor-off", demo.AGENT_EMAIL)
    assert done.returncode == 0, done.stderr
    assert (
        await pool.fetchval("SELECT totp_secret FROM agents WHERE email = $1", demo.AGENT_EMAIL)
        is None
    )
