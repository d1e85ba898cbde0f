"""Migrations that build indexes on live tables without stopping their writes.

A plain ``CREATE INDEX`` holds a SHARE lock on its table for the whole build, and every
INSERT, UPDATE and DELETE queues behind it: at a million conversations migration 0055's
histogram indexes (1.8 GB) held the analytics tables that long, and its index on
``conversations`` the customers' new conversations. ``CREATE INDEX CONCURRENTLY`` takes a
lock writes do not wait for, but PostgreSQL refuses it inside a transaction block, so such a
migration cannot be applied in one transaction as the others are (``database.migrate``).

A migration whose first line is ``MARKER`` is therefore applied one statement at a time,
outside a transaction, and recorded only once every statement has run. A node killed half
way applies it again from the start at its next migration, so every statement must be one
a second run leaves as it is: ``IF NOT EXISTS`` / ``IF EXISTS`` on each, which ``statements``
checks when it reads the file. A concurrent build that was interrupted leaves an index
marked invalid under its name, which ``IF NOT EXISTS`` would keep for good; ``apply``
drops such an index and builds it again.
"""

from __future__ import annotations

import re

import asyncpg
import structlog

from server.errors import ConfigurationError, StorageError
from server.store.views import Conn

log = structlog.get_logger(__name__)

MARKER = "-- switchboard: outside a transaction"

_CREATE = re.compile(
    r"^CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+(\w+)\s", re.IGNORECASE
)
# The statements a rerun leaves as they are, and the forms they must take.
_SAFE = (
    (re.compile(r"^CREATE\s+(UNIQUE\s+)?INDEX\b", re.IGNORECASE), _CREATE),
    (
        re.compile(r"^DROP\s+INDEX\b", re.IGNORECASE),
        re.compile(r"^DROP\s+INDEX\s+CONCURRENTLY\s+IF\s+EXISTS\s", re.IGNORECASE),
    ),
    (
        re.compile(r"^ALTER\s+INDEX\b", re.IGNORECASE),
        re.compile(r"^ALTER\s+INDEX\s+IF\s+EXISTS\s+\w+\s+RENAME\s+TO\s", re.IGNORECASE),
    ),
)


def outside_transaction(sql: str) -> bool:
    """Whether a migration's text asks to be applied outside a transaction."""
    return sql.lstrip().startswith(MARKER)


def statements(name: str, sql: str) -> list[str]:
    """The statements of a migration run outside a transaction, comments left out.

    Only index statements written so that a second run changes nothing are accepted: a
    migration half applied when its node died is applied again from its first statement.
    """
    found = [s for s in _split(name, sql) if s]
    for statement in found:
        for kind, form in _SAFE:
            if kind.match(statement):
                if not form.match(statement):
                    raise ConfigurationError(
                        f"migration {name}: outside a transaction, {statement.split()[0]}"
                        f" must be written so that running it twice changes nothing"
                        f" (CREATE INDEX CONCURRENTLY IF NOT EXISTS, DROP INDEX CONCURRENTLY"
                        f" IF EXISTS, ALTER INDEX IF EXISTS … RENAME TO): {statement[:80]}"
                    )
                break
        else:
            raise ConfigurationError(
                f"migration {name}: only index statements may run outside a transaction:"
                f" {statement[:80]}"
            )
    return found


async def apply(conn: Conn, name: str, sql: str) -> None:
    """Run a migration's statements one by one on a connection outside any transaction."""
    for statement in statements(name, sql):
        created = _CREATE.match(statement)
        if created is not None:
            index = created.group(2)
            invalid = await conn.fetchval(
                "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", index
            )
            if invalid:
                log.warning("migration: an interrupted index build is dropped", index=index)
                # Unquoted, as the CREATE names it: PostgreSQL folds both to lower case.
                await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}")
            # A build on a large table takes minutes: say what the node is waiting on.
            log.info("migration: building an index, writes go on", migration=name, index=index)
        try:
            await conn.execute(statement)
        except asyncpg.DeadlockDetectedError as exc:
            # The build waits for every older snapshot to end. A node of an earlier version,
            # started meanwhile, waits for the migration lock inside a statement and so holds
            # one (nodes of this version poll for the lock and hold none).
            raise StorageError(
                f"migration {name}: the index build and another session waited for each"
                f" other ({exc}). A node of an earlier version started during the upgrade"
                f" waits for the migration lock holding a snapshot the build must outlast:"
                f" stop nodes of the earlier version (or run `switchboard migrate` before"
                f" starting any node) and start this one again; the half-built index is"
                f" dropped and built again."
            ) from exc


def _split(name: str, sql: str) -> list[str]:
    """The text split at its semicolons, outside quotes and with ``--`` comments removed.

    Dollar-quoted bodies (functions) are refused rather than parsed: such a migration
    belongs in a transaction.
    """
    parts: list[str] = []
    current: list[str] = []
    i, quote = 0, ""
    while i < len(sql):
        ch = sql[i]
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = len(sql) if end < 0 else end
            continue
        elif ch == "$":
            raise ConfigurationError(
                f"migration {name}: a dollar-quoted body cannot run outside a transaction"
            )
        elif ch == ";":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    if quote:
        raise ConfigurationError(f"migration {name}: a quote is not closed")
    parts.append("".join(current).strip())
    return parts
