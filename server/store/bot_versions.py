"""The bot studio's versions of the Rasa project (issue 19, migration 0030): each save from
the console with its author and message, and every file it changed, before and after."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from server.store.views import Conn, iso


@dataclass(frozen=True, slots=True)
class VersionFile:
    path: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class VersionRow:
    id: int
    created_at: str
    author_id: str | None
    author_name: str
    message: str
    summary: str
    restores: int | None
    paths: tuple[str, ...]


async def insert(
    conn: Conn,
    *,
    project: str,
    author_id: UUID | None,
    author_name: str,
    message: str,
    summary: str,
    files: Sequence[VersionFile],
    restores: int | None = None,
) -> int:
    """Record one save; call it in the transaction that writes the files."""
    version_id: int = await conn.fetchval(
        """INSERT INTO bot_versions (project, author_id, author_name, message, summary, restores)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        project,
        author_id,
        author_name,
        message,
        summary,
        restores,
    )
    await conn.executemany(
        "INSERT INTO bot_version_files (version_id, path, before, after) VALUES ($1, $2, $3, $4)",
        [(version_id, f.path, f.before, f.after) for f in files],
    )
    return version_id


async def versions(
    conn: Conn, project: str, *, before: int | None = None, limit: int = 50
) -> list[VersionRow]:
    """The project's versions, newest first, ``before`` an id to page."""
    rows = await conn.fetch(
        """SELECT v.id, v.created_at, v.author_id, v.author_name, v.message, v.summary,
                  v.restores, array_agg(f.path ORDER BY f.path) AS paths
           FROM bot_versions v JOIN bot_version_files f ON f.version_id = v.id
           WHERE v.project = $1 AND ($2::bigint IS NULL OR v.id < $2)
           GROUP BY v.id ORDER BY v.id DESC LIMIT $3""",
        project,
        before,
        limit,
    )
    return [
        VersionRow(
            id=r["id"],
            created_at=iso(r["created_at"]) or "",
            author_id=str(r["author_id"]) if r["author_id"] else None,
            author_name=r["author_name"],
            message=r["message"],
            summary=r["summary"],
            restores=r["restores"],
            paths=tuple(r["paths"]),
        )
        for r in rows
    ]


async def version(conn: Conn, project: str, version_id: int) -> VersionRow | None:
    found = await versions(conn, project, before=version_id + 1, limit=1)
    return found[0] if found and found[0].id == version_id else None


async def files_of(conn: Conn, version_id: int) -> list[VersionFile]:
    rows = await conn.fetch(
        "SELECT path, before, after FROM bot_version_files WHERE version_id = $1 ORDER BY path",
        version_id,
    )
    return [VersionFile(r["path"], r["before"], r["after"]) for r in rows]


async def state_after(conn: Conn, project: str, version_id: int) -> dict[str, str | None]:
    """What each file changed by a later version held right after ``version_id``: the last
    text a version up to it wrote, else the text the first later version found."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (f.path) f.path,
                  CASE WHEN v.id <= $2 THEN f.after ELSE f.before END AS text
           FROM bot_version_files f JOIN bot_versions v ON v.id = f.version_id
           WHERE v.project = $1 AND f.path IN (
               SELECT f2.path FROM bot_version_files f2
               JOIN bot_versions v2 ON v2.id = f2.version_id
               WHERE v2.project = $1 AND v2.id > $2)
           ORDER BY f.path,
                    CASE WHEN v.id <= $2 THEN 0 ELSE 1 END,
                    CASE WHEN v.id <= $2 THEN -v.id ELSE v.id END""",
        project,
        version_id,
    )
    return {r["path"]: r["text"] for r in rows}
