"""The bot studio (issue 19): designers edit the bot's Rasa project from the console, and
every save is a version with its author, message and diff (server/store/bot_versions.py).

The files on disk (``nlu/rasa_project/`` or ``SWITCHBOARD_NLU_PROJECT``) stay the truth: an
edit is computed from them by ``nlu.project_writer`` (only the lines it changes), checked, and
written; the embedded engine's watcher then retrains and swaps the model in, as it does for
an edit made in git. The check is the engine's own first one (``load_project``, which names
file and line): it runs on a copy of the project with the edit applied, so an edit the engine
would refuse is refused here (``EditRefused`` 422) and never reaches the files, and the model
that serves is never left behind broken files. One save at a time per server.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal
from uuid import UUID

import structlog

from nlu import flow_writer
from nlu import project_writer as writer
from nlu.base import Button, Interpreter
from nlu.embedded import EmbeddedInterpreter
from nlu.markup import Example, Span
from nlu.project import ProjectError, load_project, project_files
from server.services.project_lock import project_lock
from server.store import Pool, audit
from server.store import bot_versions as store
from web_console.bot_studio_port import (
    EditRefused,
    ExampleIn,
    FileDiff,
    FlowStepIn,
    Lexicon,
    ListKind,
    NamedList,
    ProjectFile,
    VariationIn,
    VersionDetail,
    VersionView,
)
from web_console.port import Agent

log = structlog.get_logger(__name__)

STATUS = {
    writer.UnknownItem: 404,
    writer.AlreadyThere: 409,
    writer.Stale: 409,
    writer.BadEdit: 400,
    writer.Unwritable: 422,
}
SETTERS: dict[ListKind, Callable[[Path, str, Sequence[str]], writer.Change]] = {
    "synonym": writer.set_synonym,
    "regex": writer.set_regex,
    "lookup": writer.set_lookup,
}


def example_of(value: ExampleIn) -> Example:
    """The writer's example from the console's (spans checked by ``writer.markup``)."""
    text = value.text
    spans = []
    for s in value.entities:
        if not 0 <= s.start < s.end <= len(text):
            raise EditRefused(400, f"entity {s.entity}: {s.start}-{s.end} is outside the text")
        piece = text[s.start : s.end]
        spans.append(Span(s.entity, piece, s.value or piece, s.start, s.end, s.role, s.group))
    return Example(text, "", tuple(spans))


def _variation(value: VariationIn) -> writer.Variation:
    return writer.Variation(
        text=value.text,
        buttons=tuple(Button(b.title, b.payload) for b in value.buttons),
        image=value.image,
        language=value.language,
        conditions=value.conditions,
    )


def check(root: Path, change: writer.Change) -> None:
    """Load the project with ``change`` applied, in a copy; EditRefused 422 (file, line) when
    the engine would refuse it."""
    with tempfile.TemporaryDirectory(prefix="sb-studio-") as tmp:
        copy = Path(tmp) / "project"
        for path in project_files(root):
            if path.is_file():
                target = copy / path.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        writer.write_change(copy, change)
        try:
            load_project(copy)
        except ProjectError as error:
            where = error.path
            relative = where.relative_to(copy).as_posix() if where.is_relative_to(copy) else None
            reason = str(error).split(": ", 1)[-1] if error.line is not None else str(error)
            if relative is not None:
                reason = reason.replace(str(copy) + "/", "")
            raise EditRefused(422, reason, relative, error.line) from error


def _write(root: Path, change: writer.Change) -> None:
    """Write the change; on a failure put back what was written."""
    try:
        writer.write_change(root, change)
    except OSError:
        for f in change.files:
            path = root / f.path
            with contextlib.suppress(OSError):
                if f.before is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(f.before.encode("utf-8"))
        raise


def _view(row: store.VersionRow) -> VersionView:
    return VersionView(
        id=row.id,
        created_at=row.created_at,
        author=row.author_name,
        message=row.message,
        summary=row.summary,
        restores=row.restores,
        paths=list(row.paths),
    )


def _diffs(files: Sequence[store.VersionFile]) -> list[FileDiff]:
    return [FileDiff(f.path, writer.FileChange(f.path, f.before, f.after).diff()) for f in files]


class BotStudio:
    """The BotStudioPort over the embedded engine's project folder."""

    def __init__(self, pool: Pool, interpreter: Interpreter | None) -> None:
        self._pool = pool
        self._interpreter = interpreter

    def _root(self) -> Path:
        engine = self._interpreter
        if not isinstance(engine, EmbeddedInterpreter):
            raise EditRefused(
                409,
                "the studio edits the embedded engine's project; this bot runs on another engine",
            )
        return engine.root.resolve()

    async def _save(
        self,
        agent: Agent,
        message: str,
        compute: Callable[[Path], writer.Change],
        restores: int | None = None,
    ) -> VersionDetail:
        root = self._root()
        async with project_lock(root):
            try:
                change = await asyncio.to_thread(compute, root)
            except writer.EditError as error:
                status = next(s for kind, s in STATUS.items() if isinstance(error, kind))
                raise EditRefused(status, error.reason, error.path, error.line) from error
            except ProjectError as error:
                # The files were broken outside the console: the YAML view mends them.
                where = (
                    error.path.relative_to(root).as_posix()
                    if error.path.is_relative_to(root)
                    else None
                )
                raise EditRefused(422, str(error), where, error.line) from error
            except OSError as error:
                raise EditRefused(422, f"the project's files cannot be read: {error}") from error
            if not change.files:
                raise EditRefused(409, "the edit changes nothing in the files")
            await asyncio.to_thread(check, root, change)
            files = [store.VersionFile(f.path, f.before, f.after) for f in change.files]
            async with self._pool.acquire() as conn, conn.transaction():
                version_id = await store.insert(
                    conn,
                    project=str(root),
                    author_id=UUID(agent.id),
                    author_name=agent.name or agent.email,
                    message=message.strip() or change.summary,
                    summary=change.summary,
                    files=files,
                    restores=restores,
                )
                await audit.record(
                    conn,
                    action="bot.project_saved",
                    actor_id=agent.id,
                    actor_label=agent.email,
                    target_kind="bot_version",
                    target_id=str(version_id),
                    detail={
                        "summary": change.summary,
                        "message": message.strip(),
                        "paths": [f.path for f in files],
                        "restores": restores,
                    },
                )
                # Written inside the transaction: a failed write leaves no version behind.
                try:
                    await asyncio.to_thread(_write, root, change)
                except writer.EditError as error:
                    # Stale: the files changed outside the console meanwhile (the version
                    # row goes with the transaction).
                    raise EditRefused(409, error.reason, error.path, error.line) from error
                row = await store.version(conn, str(root), version_id)
        log.info("bot project saved", version=version_id, summary=change.summary)
        assert row is not None  # inserted just above, in this transaction
        return VersionDetail(_view(row), _diffs(files))

    async def lexicon(self, agent: Agent) -> Lexicon:
        root = self._root()
        draft = writer.Draft(root)

        def read() -> Lexicon:
            try:
                project = load_project(root)
            except ProjectError as error:
                raise EditRefused(422, str(error)) from error
            entities = set(project.entities)
            entities.update(s.entity for e in project.examples for s in e.entities)
            lists: list[NamedList] = []
            for kind in ("synonym", "regex", "lookup"):
                names: list[str] = []
                for relative in draft.data_files():
                    doc = draft.file(relative).doc
                    for item in (doc.get("nlu") if isinstance(doc, dict) else None) or []:
                        if isinstance(item, dict) and kind in item and str(item[kind]) not in names:
                            names.append(str(item[kind]))
                lists += [NamedList(kind, n, draft.items_of(kind, n)) for n in names]
            annotated = sorted({s.entity for e in project.examples for s in e.entities})
            examples = {e.text.strip().lower(): e.intent for e in project.examples}
            return Lexicon(sorted(entities), lists, annotated, examples)

        try:
            return await asyncio.to_thread(read)
        except writer.EditError as error:
            raise EditRefused(422, error.reason, error.path, error.line) from error

    async def add_intent(
        self, agent: Agent, name: str, examples: Sequence[ExampleIn], message: str
    ) -> VersionDetail:
        parsed = [example_of(e) for e in examples]
        return await self._save(agent, message, lambda root: writer.add_intent(root, name, parsed))

    async def add_examples(
        self, agent: Agent, intent: str, examples: Sequence[ExampleIn], message: str
    ) -> VersionDetail:
        parsed = [example_of(e) for e in examples]
        return await self._save(
            agent, message, lambda root: writer.add_examples(root, intent, parsed)
        )

    async def edit_example(
        self, agent: Agent, intent: str, old: str, example: ExampleIn, message: str
    ) -> VersionDetail:
        parsed = example_of(example)
        return await self._save(
            agent, message, lambda root: writer.edit_example(root, intent, old, parsed)
        )

    async def delete_example(
        self, agent: Agent, intent: str, old: str, message: str
    ) -> VersionDetail:
        return await self._save(
            agent, message, lambda root: writer.delete_example(root, intent, old)
        )

    async def set_list(
        self, agent: Agent, kind: ListKind, name: str, values: Sequence[str], message: str
    ) -> VersionDetail:
        setter = SETTERS[kind]
        return await self._save(agent, message, lambda root: setter(root, name, values))

    async def set_response(
        self, agent: Agent, name: str, variations: Sequence[VariationIn], message: str
    ) -> VersionDetail:
        wanted = [_variation(v) for v in variations]

        def compute(root: Path) -> writer.Change:
            # A custom payload is not shown in the console: it is edited in the files.
            current = load_project(root).responses.get(name) or []
            if any(v.custom for v in current):
                raise writer.AlreadyThere(
                    f"response {name} carries a custom payload: edit it in the files"
                )
            return writer.set_response(root, name, wanted)

        return await self._save(agent, message, compute)

    async def delete_response(self, agent: Agent, name: str, message: str) -> VersionDetail:
        return await self._save(agent, message, lambda root: writer.delete_response(root, name))

    async def set_flow(
        self,
        agent: Agent,
        kind: Literal["rule", "story"],
        name: str,
        steps: Sequence[FlowStepIn],
        original: str | None,
        message: str,
    ) -> VersionDetail:
        wanted = [flow_writer.FlowStep(s.kind, s.name, s.value) for s in steps]
        return await self._save(
            agent,
            message,
            lambda root: flow_writer.set_flow(root, kind, name, wanted, original=original),
        )

    async def delete_flow(
        self, agent: Agent, kind: Literal["rule", "story"], name: str, message: str
    ) -> VersionDetail:
        return await self._save(
            agent, message, lambda root: flow_writer.delete_flow(root, kind, name)
        )

    def _known(self, root: Path, path: str) -> Path:
        """A project file by its relative path; only the project's own YAML files."""
        for candidate in project_files(root):
            if candidate.relative_to(root).as_posix() == path and candidate.is_file():
                return candidate
        raise EditRefused(404, f"no project file {path}")

    async def files(self, agent: Agent) -> list[str]:
        root = self._root()
        found = await asyncio.to_thread(project_files, root)
        return [p.relative_to(root).as_posix() for p in found if p.is_file()]

    async def file(self, agent: Agent, path: str) -> ProjectFile:
        found = self._known(self._root(), path)
        try:
            text = await asyncio.to_thread(lambda: found.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as error:
            raise EditRefused(422, "the file is not UTF-8 text", path) from error
        return ProjectFile(path, text)

    async def set_file(self, agent: Agent, path: str, text: str, message: str) -> VersionDetail:
        """A whole file as the designer wrote it (the YAML view): checked like any save."""

        def compute(root: Path) -> writer.Change:
            found = self._known(root, path)
            current = found.read_bytes().decode("utf-8")
            if current == text:
                return writer.Change("nothing")
            return writer.Change(f"edit {path}", (writer.FileChange(path, current, text),))

        return await self._save(agent, message, compute)

    async def versions(self, agent: Agent, before: int | None) -> list[VersionView]:
        root = self._root()
        async with self._pool.acquire() as conn:
            rows = await store.versions(conn, str(root), before=before)
        return [_view(r) for r in rows]

    async def version(self, agent: Agent, version_id: int) -> VersionDetail:
        root = self._root()
        async with self._pool.acquire() as conn:
            row = await store.version(conn, str(root), version_id)
            if row is None:
                raise EditRefused(404, f"no version {version_id}")
            files = await store.files_of(conn, version_id)
        return VersionDetail(_view(row), _diffs(files))

    async def rollback(self, agent: Agent, version_id: int, message: str) -> VersionDetail:
        """Put the files back as they were right after ``version_id``: a new version."""
        root = self._root()
        async with self._pool.acquire() as conn:
            if await store.version(conn, str(root), version_id) is None:
                raise EditRefused(404, f"no version {version_id}")
            wanted = await store.state_after(conn, str(root), version_id)

        def compute(root: Path) -> writer.Change:
            files = []
            for relative, text in sorted(wanted.items()):
                path = root / relative
                current = path.read_bytes().decode("utf-8") if path.is_file() else None
                if current != text:
                    files.append(writer.FileChange(relative, current, text))
            return writer.Change(f"roll back to version {version_id}", tuple(files))

        return await self._save(
            agent, message or f"roll back to version {version_id}", compute, restores=version_id
        )
