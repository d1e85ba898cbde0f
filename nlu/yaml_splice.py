"""One YAML file edited in place: the studio changes a node by rewriting only the lines it
spans, so comments, key order, quoting and indentation everywhere else stay as they were.

ruamel.yaml's round-trip mode reads the file (and tells where each node starts); a whole-file
dump would normalise indentation that a file mixes (``mappings:`` followed by ``- type`` at
the key's own column in one slot, indented in the next) and turn ``null`` into nothing, so it
is never used to write a file back. ruamel only renders the new fragments (a response, an
``nlu`` item), indented to sit where they go. After every splice the new text is read again
and compared with the document as it should now be: an edit that would come out differently
raises ``SpliceError`` and nothing is written.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString


class SpliceError(Exception):
    """The file cannot be edited in place (unreadable YAML, an unexpected shape, or a splice
    whose result would not read back as intended); ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _reader() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


def _renderer(sequence_offset: int) -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096  # never fold a long response text over several lines
    yaml.allow_unicode = True
    yaml.indent(mapping=2, sequence=sequence_offset + 2, offset=sequence_offset)
    return yaml


def load(text: str) -> Any:
    """The round-trip document of ``text`` (None for an empty file)."""
    try:
        return _reader().load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise SpliceError(
            f"invalid YAML: {error.problem or error}", mark.line + 1 if mark else None
        ) from error
    except YAMLError as error:
        raise SpliceError(f"invalid YAML: {error}") from error


def plain(value: Any) -> Any:
    """A round-trip value as plain dicts, lists and scalars, with ``examples`` blocks read as
    their list of lines (what Rasa reads), so two documents compare by meaning."""
    if isinstance(value, dict):
        out = {str(k): plain(v) for k, v in value.items()}
        examples = out.get("examples")
        if isinstance(examples, str):
            out["examples"] = [
                line.strip()[2:].strip() for line in examples.splitlines() if line.strip()
            ]
        return out
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_filler(line: str) -> bool:
    """A blank or comment-only line: it belongs to no node."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


class YamlText:
    """The text of one YAML file and its round-trip document, changed splice by splice."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.doc: Any = load(text)

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines(keepends=True)

    # -- where nodes are ------------------------------------------------------------------

    def entry_span(self, parent: CommentedMap, key: str) -> tuple[int, int]:
        """The 0-based [start, end) lines of a mapping entry (key and value), trailing blank
        lines and comments left out (they belong with what follows)."""
        line, column = parent.lc.key(key)
        lines = self.lines
        end = line + 1
        while end < len(lines):
            text = lines[end]
            if not _is_filler(text):
                depth = _indent(text)
                # A sequence may sit at its key's own column ("mappings:\n- type: ...").
                if depth < column or (depth == column and not text.lstrip().startswith("-")):
                    break
            end += 1
        return line, self._trim(line + 1, end)

    def item_span(self, parent: CommentedSeq, index: int) -> tuple[int, int]:
        """The 0-based [start, end) lines of a sequence item, from its dash."""
        line, column = parent.lc.item(index)
        lines = self.lines
        dash = lines[line].rfind("-", 0, column + 1)
        if dash < 0:
            raise SpliceError("a sequence written in flow style cannot be edited", line + 1)
        end = line + 1
        while end < len(lines) and (_is_filler(lines[end]) or _indent(lines[end]) > dash):
            end += 1
        return line, self._trim(line + 1, end)

    def _trim(self, floor: int, end: int) -> int:
        lines = self.lines
        while end > floor and _is_filler(lines[end - 1]):
            end -= 1
        return end

    def dash_column(self, parent: CommentedSeq) -> int:
        line, column = parent.lc.item(0)
        return self.lines[int(line)].rfind("-", 0, int(column) + 1)

    def separated_by_blank(self, parent: CommentedSeq | CommentedMap) -> bool:
        """Whether the file leaves a blank line between this collection's entries."""
        if len(parent) < 2:
            return False
        if isinstance(parent, CommentedSeq):
            line = parent.lc.item(1)[0]
        else:
            line = parent.lc.key(list(parent)[1])[0]
        return line > 0 and not self.lines[line - 1].strip()

    # -- splicing ---------------------------------------------------------------------------

    def splice(self, start: int, end: int, new_lines: Sequence[str]) -> None:
        """Replace lines [start, end) with ``new_lines`` (each without its line end)."""
        lines = self.lines
        if lines and not lines[-1].endswith("\n") and start >= len(lines):
            lines[-1] += "\n"
        eol = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
        lines[start:end] = [line + eol for line in new_lines]
        self.text = "".join(lines)

    def commit(self, expected: Any) -> None:
        """Read the spliced text back; it must mean ``expected`` (the document as edited)."""
        try:
            again = load(self.text)
        except SpliceError as error:
            raise SpliceError(f"the edit would break the file: {error}", error.line) from error
        if plain(again) != plain(expected):
            raise SpliceError("the edit could not be written in place faithfully")
        self.doc = again

    def set_block_items(self, parent: CommentedMap, key: str, items: Sequence[str]) -> None:
        """Make a ``key: |`` block of ``- item`` lines hold ``items``, rewriting only the lines
        that differ (an added example is one added line)."""
        value = parent.get(key)
        rendered = [f"- {item}" for item in items]
        if not isinstance(value, LiteralScalarString):
            start, end = self.entry_span(parent, key) if key in parent else self._append_at(parent)
            column = parent.lc.key(key)[1] if key in parent else self._key_column(parent)
            pad = " " * column
            self.splice(start, end, [f"{pad}{key}: |", *(f"{pad}  {r}" for r in rendered)])
            return
        header = parent.lc.value(key)[0]
        column = parent.lc.key(key)[1]
        lines = self.lines
        first = header + 1
        end = first
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > column):
            end += 1
        end = self._trim(first, end)
        content = [i for i in range(first, end) if lines[i].strip()]
        pad = " " * (_indent(lines[content[0]]) if content else parent.lc.key(key)[1] + 2)
        old = [lines[i].strip() for i in content]
        matcher = difflib.SequenceMatcher(a=old, b=rendered, autojunk=False)
        # Apply from the bottom so earlier line numbers stay right.
        for tag, a0, a1, b0, b1 in reversed(matcher.get_opcodes()):
            if tag == "equal":
                continue
            new = [pad + r for r in rendered[b0:b1]]
            if a0 < a1:
                self.splice(content[a0], content[a1 - 1] + 1, new)
            else:
                at = content[a0 - 1] + 1 if a0 > 0 else first
                self.splice(at, at, new)

    def _append_at(self, parent: CommentedMap) -> tuple[int, int]:
        last = list(parent)[-1]
        end = self.entry_span(parent, last)[1]
        return end, end

    def _key_column(self, parent: CommentedMap) -> int:
        return int(parent.lc.key(next(iter(parent)))[1])

    def render(self, value: Any, column: int, sequence_offset: int) -> list[str]:
        """``value`` written as block YAML, each line indented by ``column``."""
        stream = io.StringIO()
        _renderer(sequence_offset).dump(value, stream)
        return [" " * column + line if line else line for line in stream.getvalue().splitlines()]

    def sequence_offset(self, parent: CommentedMap, key: str) -> int:
        """How far a sequence under ``key`` is indented from the key (0 or 2, as the file
        writes it)."""
        value = parent.get(key)
        if isinstance(value, CommentedSeq) and value:
            return max(0, self.dash_column(value) - int(parent.lc.key(key)[1]))
        return 2
