"""Index migrations outside a transaction, against a real Postgres (pgserver): a table's
writes go on while its index is built, and a build a dead node left half done is redone."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from server.errors import ConfigurationError, StorageError
from server.store import database, online_migration
from tests import harness

VERSION = 55
(MIGRATION,) = [m for m in database.migrations() if m.version == VERSION]

# Migration 0055 undone, as a database that stopped at 0054 holds it.
UNDO = """
DROP INDEX analytics_days_first_half, analytics_days_second_half,
    analytics_day_durations_first_half, analytics_day_durations_second_half,
    conversations_brand_start, sla_breaches_breached_at;
CREATE INDEX sla_breaches_breached_at ON sla_breaches (breached_at);
DELETE FROM schema_migrations WHERE version = 55;
"""


@pytest.fixture
async def at_0054(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(UNDO)
    finally:
        await conn.close()
    return dsn


async def _indexes(conn: asyncpg.Connection) -> dict[str, tuple[bool, str]]:
    rows = await conn.fetch(
        """SELECT c.relname, i.indisvalid, pg_get_indexdef(i.indexrelid) AS definition
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relname = ANY($1::text[])""",
        [
            "analytics_days_first_half",
            "analytics_days_second_half",
            "analytics_day_durations_first_half",
            "analytics_day_durations_second_half",
            "sla_breaches_breached_at",
            "sla_breaches_breached_at_covering",
            "conversations_brand_start",
        ],
    )
    return {r["relname"]: (r["indisvalid"], r["definition"]) for r in rows}


async def _migrated(dsn: str, *, again: bool = False) -> None:
    """Migrate as a node of this version starting now does (``again``: 0055 applied
    already), and check 0055's result."""
    pool = await database.create_pool(dsn, min_size=1, max_size=1)
    try:
        assert await database.migrate(pool) == ([] if again else [VERSION])
    finally:
        await pool.close()
    await _applied(dsn)


async def _applied(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        found = await _indexes(conn)
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == VERSION
    finally:
        await conn.close()
    assert sorted(found) == [
        "analytics_day_durations_first_half",
        "analytics_day_durations_second_half",
        "analytics_days_first_half",
        "analytics_days_second_half",
        "conversations_brand_start",
        "sla_breaches_breached_at",
    ]
    assert all(valid for valid, _ in found.values())
    assert "INCLUDE (conversation_id)" in found["sla_breaches_breached_at"][1]
    assert "INCLUDE (brand_id, created_at)" in found["conversations_brand_start"][1]


async def test_a_table_is_written_while_its_index_is_built(at_0054: str) -> None:
    # A transaction that wrote to analytics_days and has not ended: the build waits for it.
    writer = await asyncpg.connect(at_0054)
    other = await asyncpg.connect(at_0054)
    pool = await database.create_pool(at_0054, min_size=1, max_size=1)
    try:
        started = writer.transaction()
        await started.start()
        await writer.execute("UPDATE analytics_days SET key = key WHERE false")
        migrating = asyncio.create_task(database.migrate(pool))

        async def building() -> bool:
            assert not migrating.done(), migrating
            return bool(
                await other.fetchval(
                    """SELECT count(*) FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock'"""
                )
            )

        await harness.until(building)
        # While the build waits, another write to the same table goes through at once (a
        # plain CREATE INDEX, queued for its SHARE lock, would hold it back until the lock
        # timeout).
        await other.execute("SET lock_timeout = '5s'")
        async with other.transaction():
            await other.execute("UPDATE analytics_days SET key = key WHERE false")
        await started.commit()
        assert await migrating == [VERSION]
    finally:
        # The writer first: the build waits for it, and the pool's close for the build.
        await writer.close()
        await other.close()
        await pool.close()
    await _applied(at_0054)


async def test_an_interrupted_build_is_built_again(at_0054: str) -> None:
    # A node killed while its build waited for a writer leaves the index invalid under its
    # name, where IF NOT EXISTS alone would keep it for good.
    writer = await asyncpg.connect(at_0054)
    node = await asyncpg.connect(at_0054)
    try:
        started = writer.transaction()
        await started.start()
        await writer.execute("UPDATE conversations SET priority = priority WHERE false")
        building = asyncio.create_task(
            node.execute(
                "CREATE INDEX CONCURRENTLY conversations_brand_start"
                " ON conversations (id) INCLUDE (brand_id, created_at)"
            )
        )
        pid = node.get_server_pid()

        async def waiting() -> bool:
            return bool(
                await writer.fetchval(
                    "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
                )
            )

        await harness.until(waiting)
        await writer.fetchval("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await building
        await started.commit()
        assert (await _indexes(writer))["conversations_brand_start"][0] is False
    finally:
        await writer.close()
        node.terminate()
    await _migrated(at_0054)


async def test_a_node_of_the_earlier_version_waiting_meanwhile_is_named(at_0054: str) -> None:
    # A node of the version before 8eff471 waits for the migration lock inside a statement,
    # holding a snapshot the build waits out: PostgreSQL stops one of the two as a deadlock.
    writer = await asyncpg.connect(at_0054)
    older = await asyncpg.connect(at_0054)
    pool = await database.create_pool(at_0054, min_size=1, max_size=1)
    try:
        started = writer.transaction()
        await started.start()
        await writer.execute("UPDATE analytics_days SET key = key WHERE false")
        migrating = asyncio.create_task(database.migrate(pool))

        async def waiting(event: str) -> bool:
            return bool(
                await writer.fetchval(
                    """SELECT count(*) FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event = $1""",
                    event,
                )
            )

        await harness.until(lambda: waiting("virtualxid"))
        # Its deadlock check comes and goes before the two wait for each other, so the
        # build's is the one that finds it.
        await older.execute("SET deadlock_timeout = '10ms'")
        locking = asyncio.create_task(
            older.execute("SELECT pg_advisory_lock($1)", database.MIGRATION_LOCK_ID)
        )
        await harness.until(lambda: waiting("advisory"))
        await started.commit()
        outcome = (await asyncio.gather(migrating, locking, return_exceptions=True))[0]
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, StorageError), outcome
            assert "a node of an earlier version" in str(outcome).lower()
    finally:
        await writer.close()
        older.terminate()
        await pool.close()
    # Once the older node is gone, this one starts again and ends the migration (unless the
    # older node's wait was the one PostgreSQL stopped, and the build went on).
    await _migrated(at_0054, again=not isinstance(outcome, BaseException))


async def test_a_migration_run_twice_ends_the_same(at_0054: str) -> None:
    # A node that died after every statement but before the record runs them all again.
    conn = await asyncpg.connect(at_0054)
    try:
        await online_migration.apply(conn, MIGRATION.name, MIGRATION.sql)
        await online_migration.apply(conn, MIGRATION.name, MIGRATION.sql)
    finally:
        await conn.close()
    await _migrated(at_0054)


def test_the_shipped_migration_is_read_statement_by_statement() -> None:
    assert online_migration.outside_transaction(MIGRATION.sql)
    found = online_migration.statements(MIGRATION.name, MIGRATION.sql)
    assert len(found) == 8
    assert all(s.upper().startswith(("CREATE INDEX", "DROP INDEX", "ALTER INDEX")) for s in found)
    assert not any(
        online_migration.outside_transaction(m.sql)
        for m in database.migrations()
        if m.version < VERSION
    )


def test_quotes_and_comments_do_not_split_a_statement() -> None:
    sql = (
        f"{online_migration.MARKER}\n-- a comment; with a semicolon and an 'apostrophe\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS a ON t ((x || ';--'));\n"
    )
    assert online_migration.statements("x.sql", sql) == [
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS a ON t ((x || ';--'))"
    ]


@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ("CREATE INDEX CONCURRENTLY a ON t (x)", "running it twice"),
        ("CREATE INDEX IF NOT EXISTS a ON t (x)", "running it twice"),
        ("DROP INDEX a", "running it twice"),
        ("ALTER INDEX a RENAME TO b", "running it twice"),
        ("INSERT INTO t VALUES (1)", "only index statements"),
        ("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql", "dollar-quoted"),
        ("CREATE INDEX CONCURRENTLY IF NOT EXISTS a ON t ((x || 'open))", "not closed"),
    ],
)
def test_a_statement_a_rerun_would_change_is_refused(statement: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        online_migration.statements("0099_x.sql", f"{online_migration.MARKER}\n{statement};")
