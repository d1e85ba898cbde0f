"""Rasa's own ``rasa data validate`` on the project's files (issue 19), when
SWITCHBOARD_RASA_COMMAND names a ``rasa`` executable on this machine.

It runs in a subprocess in the project folder (``--data data --domain domain.yml --config
config.yml``; a ``domain/`` folder when the project has one), with a timeout, its output
captured. Rasa speaks in log lines and Python warnings; what it found is read back from them
as problems, each with its level and, where Rasa names it or a name it quotes is found in the
files, its file and line. Rasa's own exit code says whether the data passed (warnings alone do
not fail it, as on the command line). Telemetry is off for the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from nlu.project import project_files
from web_console.bot_training_views import RasaProblemView

TIMEOUT = 300.0
OUTPUT_LIMIT = 20_000
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# "2026-12-04 22:11:29 WARNING  rasa.validator  - Story structure conflict ..."
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (?P<level>[A-Z]+)\s+(?P<logger>\S+)\s+- (?P<message>.*)$"
)
# ".../rasa/shared/utils/io.py:100: UserWarning: The action 'utter_missing' is used ..."
PY_WARNING = re.compile(r"^\S+\.py:\d+: (?P<category>\w+): (?P<message>.*)$")
# "YamlSyntaxException: Failed to read 'data/nlu.yml'. ..."
EXCEPTION = re.compile(r"^(?P<name>\w+(?:Exception|Error)): (?P<message>.*)$")
# 'in "data/nlu.yml", line 97' (YAML's own errors)
YAML_WHERE = re.compile(r"in \"(?P<path>[^\"]+)\", line (?P<line>\d+)")
QUOTED = re.compile(r"'([^'\n]{1,200})'")


@dataclass(frozen=True, slots=True)
class RasaRun:
    """A finished run: ``ok`` is Rasa's exit code 0; ``reason`` set: it did not run."""

    ran: bool
    ok: bool | None
    output: str | None
    problems: list[RasaProblemView]
    reason: str | None = None


def arguments(root: Path) -> list[str]:
    domain = "domain" if (root / "domain").is_dir() else "domain.yml"
    return ["data", "validate", "--data", "data", "--domain", domain, "--config", "config.yml"]


async def validate(command: Path, root: Path, limit: float = TIMEOUT) -> RasaRun:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "NO_COLOR": "1"}
    try:
        process = await asyncio.create_subprocess_exec(
            str(command),
            *arguments(root),
            cwd=root,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except OSError as error:
        reason = f"SWITCHBOARD_RASA_COMMAND ({command}) could not be run: {error.strerror or error}"
        return RasaRun(False, None, None, [], reason)
    try:
        async with asyncio.timeout(limit):
            out, _ = await process.communicate()
    except (TimeoutError, asyncio.CancelledError) as stopped:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        if isinstance(stopped, asyncio.CancelledError):
            raise
        return RasaRun(
            False, None, None, [], f"`rasa data validate` took more than {limit:.0f} s: stopped"
        )
    text = ANSI.sub("", out.decode("utf-8", "replace"))
    # Placing a message reads the project's files: off the event loop.
    problems = await asyncio.to_thread(read_problems, text, root)
    output = text if len(text) <= OUTPUT_LIMIT else "…" + text[-OUTPUT_LIMIT:]
    return RasaRun(True, process.returncode == 0, output, problems)


def read_problems(text: str, root: Path) -> list[RasaProblemView]:
    """The warnings and errors in Rasa's output, library noise (deprecations) left out."""
    found: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for raw in text.replace("\r", "\n").splitlines():
        line = raw.rstrip()
        if (m := LOG_LINE.match(line)) is not None:
            level = m["level"].lower()
            current = None
            if level in ("warning", "error", "critical"):
                current = [m["message"]]
                found.append(("error" if level != "warning" else "warning", current))
        elif (m := PY_WARNING.match(line)) is not None:
            current = None
            if m["category"] == "UserWarning":
                current = [m["message"]]
                found.append(("warning", current))
        elif (m := EXCEPTION.match(line)) is not None:
            current = [f"{m['name']}: {m['message']}"]
            found.append(("error", current))
        elif current is not None and line.strip() and not line.startswith("Processed "):
            current.append(line.strip())
        else:
            current = None
    index = _Files(root)
    problems: list[RasaProblemView] = []
    for level, lines in found:
        message = "\n".join(lines)
        path, number = index.where(message)
        problems.append({"level": level, "path": path, "line": number, "message": message})
    return problems


class _Files:
    """The project's YAML files, to place a message Rasa gave no file for."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._texts: dict[str, list[str]] | None = None

    def texts(self) -> dict[str, list[str]]:
        if self._texts is None:
            self._texts = {}
            with contextlib.suppress(OSError):
                # The data first: what a warning quotes is most often used there.
                files = project_files(self._root)
                for path in sorted(files, key=lambda p: p.parent.name != "data"):
                    with contextlib.suppress(OSError, UnicodeDecodeError):
                        name = path.relative_to(self._root).as_posix()
                        self._texts[name] = path.read_text(encoding="utf-8").splitlines()
        return self._texts

    def where(self, message: str) -> tuple[str | None, int | None]:
        if (m := YAML_WHERE.search(message)) is not None:
            return self._relative(m["path"]), int(m["line"])
        quoted = QUOTED.findall(message)
        for name in quoted:  # a file Rasa names
            if name.endswith((".yml", ".yaml")):
                return self._relative(name), None
        # Else the first line of the files that names what it quotes, the last quoted first
        # (a story conflict names the intent, then the stories).
        for name in reversed(quoted):
            pattern = re.compile(rf"(?:^|[\s:\-\[,]){re.escape(name)}\s*(?:$|[:,\]#])")
            for path, lines in self.texts().items():
                for number, text in enumerate(lines, 1):
                    if pattern.search(text):
                        return path, number
        return None, None

    def _relative(self, name: str) -> str:
        path = Path(name)
        if path.is_absolute():
            with contextlib.suppress(ValueError):
                return path.relative_to(self._root).as_posix()
        return path.as_posix()
