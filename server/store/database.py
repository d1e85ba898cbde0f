"""The Postgres connection: an embedded pgserver when no URL is set, a pool, and migrations.

Migrations are numbered SQL files in ``server/store/migrations``; each is applied in its own
transaction and recorded in ``schema_migrations``. An advisory lock makes two nodes starting at
once apply them one after the other.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import structlog
from pgvector.asyncpg import register_vector

from server.errors import ConfigurationError, StorageError
from server.store.views import Pool

log = structlog.get_logger(__name__)

# Arbitrary constant for pg_advisory_lock: "SWBD" in ASCII.
MIGRATION_LOCK_ID = 0x53574244
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The migrations shipped with the package, in version order."""
    found = []
    for entry in resources.files("server.store.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text()))
    found.sort(key=lambda m: m.version)
    return found


class EmbeddedPostgres:
    """A PostgreSQL 16 with pgvector run by pgserver, data under ``data_dir/postgres``."""

    def __init__(self, data_dir: Path) -> None:
        self._pgdata = data_dir.resolve() / "postgres"
        self._server: Any = None

    def start(self) -> str:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (as on servers); pgserver copes.
            warnings.simplefilter("ignore", UserWarning)
            from pgserver.postgres_server import get_server  # only embedded runs import it

        self._pgdata.mkdir(parents=True, exist_ok=True)
        # 'stop' shuts the server down when the last process using this folder lets go.
        self._server = get_server(self._pgdata, cleanup_mode="stop")
        uri: str = self._server.get_uri()
        log.info("embedded postgres started", pgdata=str(self._pgdata))
        return uri

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            log.info("embedded postgres stopped")


def _encode_json(value: object) -> str:
    return orjson.dumps(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    # orjson: jsonb event payloads are encoded on every message (about 10x the stdlib's speed).
    await conn.set_type_codec(
        "jsonb", encoder=_encode_json, decoder=orjson.loads, schema="pg_catalog"
    )
    await register_vector(conn)


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 20) -> Pool:
    """Open a pool; the vector codec needs the extension, so migrate before first use."""
    try:
        # The extension must exist before register_vector runs on each new connection.
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, init=_init_connection
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise ConfigurationError(f"cannot connect to the database: {exc}") from exc
    assert pool is not None
    return pool


async def migrate(pool: Pool) -> list[int]:
    """Apply the migrations not yet applied; return the versions applied now."""
    applied_now: list[int] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version integer PRIMARY KEY, name text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            for m in migrations():
                if m.version in done:
                    continue
                try:
                    async with conn.transaction():
                        await conn.execute(m.sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                            m.version,
                            m.name,
                        )
                except asyncpg.PostgresError as exc:
                    raise StorageError(f"migration {m.name} failed: {exc}") from exc
                log.info("migration applied", version=m.version, name=m.name)
                applied_now.append(m.version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    return applied_now


async def schema_version(pool: Pool) -> int:
    async with pool.acquire() as conn:
        value = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
    return int(value)
