"""The Postgres connection: an embedded pgserver when no URL is set, a pool, and migrations.

Migrations are numbered SQL files in ``server/store/migrations``; each is applied in its own
transaction and recorded in ``schema_migrations``, except those that build indexes on live
tables, applied a statement at a time (``online_migration``). An advisory lock makes two nodes
starting at once apply them one after the other.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import signal
import subprocess
import time
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import psutil
import structlog
from pgvector.asyncpg import register_vector

from server.errors import ConfigurationError, StorageError
from server.store import online_migration
from server.store.views import Conn, Pool

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
    """A PostgreSQL 16 with pgvector run by pgserver, data under ``data_dir/postgres``.

    pgserver shares one postmaster between the processes that use the same folder: each adds its
    PID to ``.handle_pids.json`` and the last one to let go stops the server. We keep that
    sharing, because a one-shot command (``switchboard migrate``, ``seed-demo``, ``agent
    create``) run beside ``switchboard serve`` on the same ``./var`` uses the same server, and
    must not stop it under the running node when the command ends.

    A process killed with SIGKILL never lets go, and its postmaster outlives it (pg_ctl starts
    it in a session of its own). Left alone, pgserver then adopts that postmaster at the next
    start and, counting the dead PID as a user still, never stops it. So before pgserver starts
    and after it stops, ``_release_abandoned`` forgets the users that have exited and, when no
    living one is left, stops whatever postgres still runs on our folder: an orphan is stopped
    and a fresh server started, rather than adopted in whatever state its owner's death left it.
    """

    def __init__(self, data_dir: Path) -> None:
        self._pgdata = data_dir.resolve() / "postgres"
        self._server: Any = None

    def start(self) -> str:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (as on servers); pgserver copes.
            warnings.simplefilter("ignore", UserWarning)
            from pgserver.postgres_server import PostgresServer, get_server  # only embedded runs

        self._pgdata.mkdir(parents=True, exist_ok=True)
        # pgserver's own inter-process lock: no other process starts or stops this server
        # meanwhile. Not held across get_server, which takes it (and it is not re-entrant).
        with PostgresServer._lock:
            self._release_abandoned()
        # 'stop' shuts the server down when the last process using this folder lets go.
        self._server = get_server(self._pgdata, cleanup_mode="stop")
        uri: str = self._server.get_uri()
        log.info("embedded postgres started", pgdata=str(self._pgdata), pid=self._server.get_pid())
        return uri

    def stop(self) -> None:
        if self._server is None:
            return
        from pgserver.postgres_server import PostgresServer

        server, self._server = self._server, None
        server.cleanup()
        # When others still used the server, pgserver keeps this handle, and would hand it back
        # to a later start in this process without counting the process again, and run its
        # clean-up once more at exit: drop it.
        atexit.unregister(server._cleanup)
        if PostgresServer._instances.get(self._pgdata) is server:
            del PostgresServer._instances[self._pgdata]
        with PostgresServer._lock:
            users = self._release_abandoned()
        if users:
            log.info("embedded postgres left to its other users", pids=users)
        else:
            log.info("embedded postgres stopped", pgdata=str(self._pgdata))

    def _release_abandoned(self) -> list[int]:
        """Forget the pgserver users that have exited; with none left, stop any postgres still
        running on our folder. Also drop a postmaster.pid naming a process that is not our
        postmaster (a PID reused after a crash or a reboot), which pgserver would adopt and
        Postgres would refuse to start over. Returns the living users. Run under pgserver's lock.
        """
        from pgserver.utils import DiskList

        users_file = DiskList(self._pgdata / ".handle_pids.json")
        try:
            users: list[int] = users_file.get()
            written = users_file.path.stat().st_mtime if users else 0.0
        except ValueError:  # cut short by a crash while pgserver wrote it
            users, written = [], 0.0
            users_file.put([])
        living = [pid for pid in users if _may_be_user(pid, written)]
        if living != users:
            log.info(
                "embedded postgres: forgetting users that exited",
                pids=sorted(set(users) - set(living)),
            )
            users_file.put(living)
        if not living and (running := _postgres_processes(self._pgdata)):
            log.warning(
                "embedded postgres: stopping a server no living process uses",
                pgdata=str(self._pgdata),
                pids=[p.pid for p in running],
            )
            self._stop_all()
        pid_file = self._pgdata / "postmaster.pid"
        postmaster = self._postmaster_pid()
        if (
            pid_file.exists()
            and (postmaster is None or _runs_in(postmaster, self._pgdata) is False)
            and not _postgres_processes(self._pgdata)
        ):
            log.info("embedded postgres: removing a stale postmaster.pid", pid=postmaster)
            pid_file.unlink(missing_ok=True)
        return living

    def _postmaster_pid(self) -> int | None:
        """The first line of postmaster.pid, if there is such a file and line."""
        try:
            return int((self._pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def _stop_all(self) -> None:
        """Stop every postgres process on our folder: pg_ctl's fast shutdown (clients are
        disconnected, the data is checkpointed), signals when pg_ctl cannot do it."""
        from pgserver._commands import POSTGRES_BIN_PATH

        postmaster = self._postmaster_pid()
        # pg_ctl signals the PID in postmaster.pid: only when that is our postmaster.
        asked = postmaster is not None and _runs_in(postmaster, self._pgdata) is True
        if asked:
            pg_ctl = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self._pgdata), "-m", "fast"]
            try:
                done = subprocess.run(
                    [*pg_ctl, "-w", "-t", str(int(_STOP_WAIT)), "stop"],
                    capture_output=True,
                    text=True,
                    timeout=_STOP_WAIT + 10,
                    check=False,
                    # Root runs Postgres as pgserver's 'pgserver' user, which alone may signal it.
                    user="pgserver" if os.geteuid() == 0 else None,
                )
            except subprocess.TimeoutExpired:
                log.warning("embedded postgres: pg_ctl stop timed out")
            else:
                if done.returncode != 0:
                    log.warning("embedded postgres: pg_ctl stop failed", stderr=done.stderr.strip())
        # pg_ctl -w returns once the postmaster is gone, and it goes after its backends.
        left = _wait_until_gone(self._pgdata, _GONE_WAIT if asked else 0)
        if left:
            # No usable postmaster.pid, or pg_ctl failed: SIGINT to a postmaster (a process
            # whose parent is none of them) is the same fast shutdown.
            pids = {p.pid for p in left}
            for proc in left:
                with contextlib.suppress(psutil.NoSuchProcess):
                    if proc.ppid() not in pids:
                        proc.send_signal(signal.SIGINT)
            left = _wait_until_gone(self._pgdata, _STOP_WAIT)
        for proc in left:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        if _wait_until_gone(self._pgdata, _GONE_WAIT):
            raise StorageError(f"cannot stop the embedded postgres in {self._pgdata}")


# pg_ctl's own default wait for a shutdown, in seconds.
_STOP_WAIT = 60.0
# For processes already told to go (or killed) to be gone: they exit within milliseconds.
_GONE_WAIT = 5.0


def _may_be_user(pid: int, registered_by: float) -> bool:
    """Whether ``pid`` may still be the process that added itself to pgserver's users: it
    exists, and it began before the list was last written (a later process only reuses the
    number). When unsure, it is kept: a server left running is better than one stopped under a
    living node."""
    try:
        proc = psutil.Process(pid)
        # create_time is counted from the boot time in whole seconds: give it that second.
        return proc.status() != psutil.STATUS_ZOMBIE and proc.create_time() <= registered_by + 1
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _runs_in(pid: int, pgdata: Path) -> bool | None:
    """Whether ``pid`` is a live postgres process working in ``pgdata``; None if we may not look.

    Postgres changes into its data directory at start and its backends inherit that, so the
    working directory identifies them all, whereas their command lines are rewritten
    ('postgres: checkpointer', ...).
    """
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE or proc.name() != "postgres":
            return False
        return Path(proc.cwd()) == pgdata
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return None


def _postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """The live postgres processes working in ``pgdata``."""
    return [
        proc
        for proc in psutil.process_iter(["name"])
        if proc.info["name"] == "postgres" and _runs_in(proc.pid, pgdata)
    ]


def _wait_until_gone(pgdata: Path, within: float) -> list[psutil.Process]:
    """Poll until no postgres runs in ``pgdata``, for at most ``within`` seconds; those left."""
    deadline = time.monotonic() + within
    while (left := _postgres_processes(pgdata)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _encode_json(value: object) -> str:
    return orjson.dumps(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    # orjson: jsonb event payloads are encoded on every message (about 10x the stdlib's speed).
    await conn.set_type_codec(
        "jsonb", encoder=_encode_json, decoder=orjson.loads, schema="pg_catalog"
    )
    await register_vector(conn)


class _Connection(asyncpg.Connection):
    """A pooled connection returned to the pool without asyncpg's reset query.

    asyncpg sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every
    release: a round trip per borrow, a tenth of the server's time under web-chat load. Our
    connections keep no session state: settings are ``SET LOCAL``, nothing listens, cursors
    live inside transactions, and the two session advisory locks (migrations, assignment
    turns) are released in ``finally`` or the connection is terminated. An open transaction is
    still rolled back on release (asyncpg does that whatever this query says).
    """

    def get_reset_query(self) -> str:
        return ""


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
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            connection_class=_Connection,
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise ConfigurationError(f"cannot connect to the database: {exc}") from exc
    assert pool is not None
    return pool


async def migrate(pool: Pool) -> list[int]:
    """Apply the migrations not yet applied; return the versions applied now."""
    applied_now: list[int] = []
    async with pool.acquire() as conn:
        await _take_migration_lock(conn)
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
                record = "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"
                try:
                    if online_migration.outside_transaction(m.sql):
                        await online_migration.apply(conn, m.name, m.sql)
                        await conn.execute(record, m.version, m.name)
                    else:
                        async with conn.transaction():
                            await conn.execute(m.sql)
                            await conn.execute(record, m.version, m.name)
                except asyncpg.PostgresError as exc:
                    raise StorageError(f"migration {m.name} failed: {exc}") from exc
                log.info("migration applied", version=m.version, name=m.name)
                applied_now.append(m.version)
        finally:
            await release_session_lock(conn, MIGRATION_LOCK_ID)
    return applied_now


async def _take_migration_lock(conn: Conn) -> None:
    """Wait for the migration lock without holding a snapshot while waiting.

    ``pg_advisory_lock`` would wait inside a statement, with that statement's snapshot, and
    a ``CREATE INDEX CONCURRENTLY`` run by the node holding the lock waits for every older
    snapshot to end: the two nodes would wait on each other until PostgreSQL's deadlock
    check failed one. So the lock is tried, and tried again a moment later.
    """
    said = False
    while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", MIGRATION_LOCK_ID):
        if not said:
            log.info("migrations: another node is applying them, waiting")
            said = True
        await asyncio.sleep(0.1)


async def release_session_lock(conn: Conn, lock_id: int) -> None:
    """Release a session advisory lock; if that fails (or is cancelled), end the session,
    which releases it too. Pooled connections are not reset on release (_Connection), so a
    lock left behind would outlive its holder."""
    try:
        await conn.execute("SELECT pg_advisory_unlock($1)", lock_id)
    except BaseException:
        conn.terminate()
        raise


def pool_busy(pool: Pool) -> bool:
    """Whether every connection the pool may open is open and at work."""
    return pool.get_size() >= pool.get_max_size() and pool.get_idle_size() == 0


async def schema_version(pool: Pool) -> int:
    async with pool.acquire() as conn:
        value = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
    return int(value)
