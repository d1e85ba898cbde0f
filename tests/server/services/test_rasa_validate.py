"""Rasa's own `rasa data validate` from the console's "Validate" (issue 19), run with the real
Rasa 3.6.21 the tests use (SWITCHBOARD_RASA_COMMAND: its virtualenv's bin/rasa): its warnings
and errors come back with file and line, a broken file fails it, and a command that cannot
run, or runs too long, is said so. Skipped without that virtualenv (`make rasa`)."""

from __future__ import annotations

import shutil
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.services import demo
from server.services.rasa_validate import validate
from tests import harness
from tests.rasa_stack import RASA_BIN
from tests.web_console.brands import person, signed_in

MOODBOT = Path(__file__).parents[2] / "nlu" / "data" / "moodbot"
needs_rasa = pytest.mark.skipif(not RASA_BIN.exists(), reason="no Rasa virtualenv (make rasa)")
# An intent the domain does not list, and a story that says a response nobody wrote.
NLU = "\n- intent: ask_weather\n  examples: |\n    - will it rain\n    - is it sunny\n"
STORY = "\n- story: weather\n  steps:\n  - intent: ask_weather\n  - action: utter_missing\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "moodbot"
    shutil.copytree(MOODBOT, root)
    return root


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@needs_rasa
async def test_warnings_come_back_with_file_and_line(project: Path) -> None:
    with (project / "data" / "nlu.yml").open("a") as nlu:
        nlu.write(NLU)
    with (project / "data" / "stories.yml").open("a") as stories:
        stories.write(STORY)
    run = await validate(RASA_BIN, project)
    assert run.ran, run.reason
    assert run.ok is True  # warnings alone do not fail it, as on the command line
    assert run.output is not None
    assert "rasa.validator" in run.output
    by_text = {p["message"].split("\n")[0]: p for p in run.problems}
    intent = next(p for m, p in by_text.items() if "'ask_weather'" in m)
    assert intent["level"] == "warning"
    assert (intent["path"], intent["line"]) == (
        "data/nlu.yml",
        line_of(project / "data" / "nlu.yml", "- intent: ask_weather"),
    )
    missing = next(p for m, p in by_text.items() if "'utter_missing'" in m)
    assert (missing["path"], missing["line"]) == (
        "data/stories.yml",
        line_of(project / "data" / "stories.yml", "utter_missing"),
    )
    # Library noise (deprecations) is not a problem of the project.
    assert not any("Deprecat" in p["message"] for p in run.problems)


@needs_rasa
async def test_a_broken_file_fails_with_its_file_and_line(project: Path) -> None:
    nlu = project / "data" / "nlu.yml"
    nlu.write_text(nlu.read_text() + '\n- intent: x\n  examples: |\n    - "oops\n  bad: [\n')
    run = await validate(RASA_BIN, project)
    assert run.ran
    assert run.ok is False
    (error,) = [p for p in run.problems if p["level"] == "error"]
    assert error["path"] == "data/nlu.yml"
    assert error["line"] is not None
    assert error["line"] > 90
    assert "YamlSyntaxException" in error["message"]


async def test_a_command_that_cannot_run_or_runs_too_long_is_said(
    project: Path, tmp_path: Path
) -> None:
    run = await validate(tmp_path / "no-such-rasa", project)
    assert not run.ran
    assert run.reason is not None
    assert "SWITCHBOARD_RASA_COMMAND" in run.reason
    stuck = tmp_path / "stuck-rasa"
    stuck.write_text("#!/bin/sh\nexec sleep 600\n")
    stuck.chmod(stuck.stat().st_mode | stat.S_IXUSR)
    run = await validate(stuck, project, limit=1.0)
    assert not run.ran
    assert run.reason == "`rasa data validate` took more than 1 s: stopped"


@pytest.fixture
async def rasa_checked(
    dsn: str, tmp_path: Path, project: Path
) -> AsyncIterator[harness.RunningServer]:
    settings = harness.settings_for(
        dsn,
        tmp_path,
        nlu_engine="embedded",
        nlu_project=project,
        nlu_cache_dir=tmp_path / "nlu-cache",
        rasa_command=RASA_BIN,
    )
    async with harness.run_server(settings) as running:
        yield running


@needs_rasa
async def test_the_console_validate_runs_rasa_when_it_is_configured(
    rasa_checked: harness.RunningServer, project: Path
) -> None:
    designer = await signed_in(
        rasa_checked, await person(rasa_checked, demo.BRAND_SLUG, "designer")
    )
    with (project / "data" / "nlu.yml").open("a") as nlu:
        nlu.write(NLU)
    # Rasa loads TensorFlow first: seconds on a busy machine.
    answer = await designer.post("/console/api/bot/validate", json={}, timeout=300)
    assert answer.status_code == 200
    rasa = answer.json()["rasa"]
    assert rasa["available"] is True
    assert rasa["reason"] is None
    assert rasa["ok"] is True
    assert any(
        p["path"] == "data/nlu.yml" and "'ask_weather'" in p["message"] for p in rasa["problems"]
    )
    await designer.aclose()
