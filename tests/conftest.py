"""Shared fixtures: one real Postgres (pgserver) per session, a fresh database per test."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from server.settings import Settings
from server.store import database
from tests import harness


@pytest.fixture(scope="session")
def pg_base_dsn() -> Iterator[str]:
    # A short path: Postgres' unix socket path must stay under ~100 bytes.
    with tempfile.TemporaryDirectory(prefix="sbpg") as tmp:
        embedded = database.EmbeddedPostgres(Path(tmp))
        dsn = embedded.start()
        try:
            yield dsn
        finally:
            embedded.stop()


@pytest.fixture(scope="session")
async def pg_template(pg_base_dsn: str) -> str:
    await harness.create_template(pg_base_dsn)
    return pg_base_dsn


@pytest.fixture
async def dsn(pg_template: str) -> str:
    """A migrated database with the demo data, new for each test."""
    return await harness.fresh_database(pg_template)


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    p = await database.create_pool(dsn, min_size=1, max_size=10)
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with (
        tempfile.TemporaryDirectory(prefix="sbredis") as tmp,
        harness.redis_server(Path(tmp)) as url,
    ):
        yield url


@pytest.fixture
def settings(dsn: str, tmp_path: Path) -> Settings:
    return harness.settings_for(dsn, tmp_path)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[harness.RunningServer]:
    async with harness.run_server(settings) as running:
        yield running
