"""Migrations against a real Postgres (pgserver), including a real pgvector query."""

import asyncio

import asyncpg

from server.store import database


async def test_migrations_are_recorded_and_reapplying_changes_nothing(pool: asyncpg.Pool) -> None:
    assert await database.schema_version(pool) == database.migrations()[-1].version
    assert await database.migrate(pool) == []
    names = [r["name"] for r in await pool.fetch("SELECT name FROM schema_migrations")]
    assert names == [m.name for m in database.migrations()]


async def test_pgvector_is_installed_and_its_type_round_trips(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("CREATE TEMP TABLE v (e vector(3))")
        await conn.execute("INSERT INTO v VALUES ('[1,2,3]'), ('[3,2,1]')")
        nearest = await conn.fetchval("SELECT e FROM v ORDER BY e <-> '[1,2,2]' LIMIT 1")
    assert nearest.to_list() == [1.0, 2.0, 3.0]


async def test_migrating_two_pools_at_once_applies_each_migration_once(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    await conn.close()
    pools = [await database.create_pool(dsn, min_size=1, max_size=1) for _ in range(2)]
    try:
        applied = await asyncio.gather(*(database.migrate(p) for p in pools))
        assert sorted(applied, key=len) == [[], [m.version for m in database.migrations()]]
    finally:
        for p in pools:
            await p.close()
