"""What the bot studio (issue 19: editing the bot's Rasa project from the console, with
versions) asks of the server: the console's side of ``server/services/bot_studio.py``. Values
are dataclasses the endpoints write as JSON (orjson writes dataclasses as objects)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from web_console.port import Agent

ListKind = Literal["synonym", "regex", "lookup"]


class EditRefused(Exception):
    """An edit the studio does not make, with its HTTP status: 400 (malformed), 404 (no such
    intent, example or response), 409 (exists already, or changes nothing), 422 (the project
    would not load: ``path`` and ``line`` say where). Nothing was written."""

    def __init__(
        self, status: int, reason: str, path: str | None = None, line: int | None = None
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.path = path
        self.line = line


@dataclass(frozen=True, slots=True)
class SpanIn:
    """An entity over an example's plain text (``start``/``end`` index it)."""

    start: int
    end: int
    entity: str
    value: str | None = None
    role: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class ExampleIn:
    text: str
    entities: tuple[SpanIn, ...] = ()


@dataclass(frozen=True, slots=True)
class ButtonIn:
    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class VariationIn:
    """A response variation; ``language`` None: said in any language (no condition);
    ``conditions`` are its other slot conditions, kept as they were."""

    text: str | None
    language: str | None = None
    buttons: tuple[ButtonIn, ...] = ()
    image: str | None = None
    conditions: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True, slots=True)
class FlowStepIn:
    """A rule's or story's step: ``intent``, ``action``, ``slot`` (``name`` set to
    ``value``; None: not set) or ``loop`` (a form's name; "": the loop ends)."""

    kind: Literal["intent", "action", "slot", "loop"]
    name: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class FileDiff:
    path: str
    diff: str  # unified, as git diff shows it


@dataclass(frozen=True, slots=True)
class VersionView:
    """A saved version of the project's files; ``restores``: the version it rolled back to."""

    id: int
    created_at: str
    author: str
    message: str
    summary: str
    restores: int | None
    paths: list[str]


@dataclass(frozen=True, slots=True)
class VersionDetail:
    version: VersionView
    files: list[FileDiff]


@dataclass(frozen=True, slots=True)
class NamedList:
    """A synonym (``name`` is the canonical value), regex or lookup table and its lines."""

    kind: ListKind
    name: str
    values: list[str]


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The project's entities (declared or annotated) and its synonyms, regexes and lookups,
    as the files on disk hold them; what the editor's warnings need."""

    entities: list[str]
    lists: list[NamedList]
    # The entities some example annotates (the others: "never annotated").
    annotated: list[str]
    # Each example's plain text, lower-cased, and its intent: "already under another intent".
    examples: dict[str, str]


@dataclass(frozen=True, slots=True)
class ProjectFile:
    """One of the project's YAML files as it is on disk (the power user's YAML view)."""

    path: str
    text: str


class BotStudioPort(Protocol):
    """Edits of the bot's project files, each saved as a version with its author and message
    (an ``EditRefused`` otherwise, nothing written), and the versions. Designers and admins
    only; the endpoints check the role."""

    async def lexicon(self, agent: Agent) -> Lexicon: ...

    async def add_intent(
        self, agent: Agent, name: str, examples: Sequence[ExampleIn], message: str
    ) -> VersionDetail: ...

    async def add_examples(
        self, agent: Agent, intent: str, examples: Sequence[ExampleIn], message: str
    ) -> VersionDetail: ...

    async def edit_example(
        self, agent: Agent, intent: str, old: str, example: ExampleIn, message: str
    ) -> VersionDetail: ...

    async def delete_example(
        self, agent: Agent, intent: str, old: str, message: str
    ) -> VersionDetail: ...

    async def set_list(
        self, agent: Agent, kind: ListKind, name: str, values: Sequence[str], message: str
    ) -> VersionDetail: ...

    async def set_response(
        self, agent: Agent, name: str, variations: Sequence[VariationIn], message: str
    ) -> VersionDetail: ...

    async def delete_response(self, agent: Agent, name: str, message: str) -> VersionDetail: ...

    async def set_flow(
        self,
        agent: Agent,
        kind: Literal["rule", "story"],
        name: str,
        steps: Sequence[FlowStepIn],
        original: str | None,
        message: str,
    ) -> VersionDetail: ...

    async def delete_flow(
        self, agent: Agent, kind: Literal["rule", "story"], name: str, message: str
    ) -> VersionDetail: ...

    async def files(self, agent: Agent) -> list[str]: ...

    async def file(self, agent: Agent, path: str) -> ProjectFile: ...

    async def set_file(self, agent: Agent, path: str, text: str, message: str) -> VersionDetail: ...

    async def versions(self, agent: Agent, before: int | None) -> list[VersionView]: ...

    async def version(self, agent: Agent, version_id: int) -> VersionDetail: ...

    async def rollback(self, agent: Agent, version_id: int, message: str) -> VersionDetail: ...
