"""Reading a Rasa project's YAML files so that every mistake names its file and line: mappings
remember the line they start on, syntax errors are reported where they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ProjectError(Exception):
    """The project cannot be loaded; the message names the file and line."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.reason = message


class _Mapping(dict[str, Any]):
    """A YAML mapping that remembers the line it started on (1-based)."""

    line: int = 0


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    mapping = _Mapping({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    mapping.line = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> Any:
    """One YAML file, with syntax errors reported as ProjectError at their line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(path, None, f"cannot read: {error}") from error
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ProjectError(path, line, f"invalid YAML: {error.problem or error}") from error
    except yaml.YAMLError as error:
        raise ProjectError(path, None, f"invalid YAML: {error}") from error


def line_of(value: Any) -> int | None:
    """The line a mapping read from YAML started on (None for other values)."""
    return value.line if isinstance(value, _Mapping) else None
