"""`switchboard nlu train` names what the embedded engine will not run, with file and line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.harness import ROOT

MOODBOT = ROOT / "tests" / "nlu" / "data" / "moodbot"


def test_train_names_each_unsupported_feature_and_what_happens_instead(tmp_path: Path) -> None:
    project = tmp_path / "bot"
    shutil.copytree(MOODBOT, project)
    config = project / "config.yml"
    config.write_text(config.read_text() + "  - name: TEDPolicy\n    epochs: 10\n")
    arguments = ["--no-rasa", "--project", str(project), "--cache", str(tmp_path / "cache")]
    done = subprocess.run(
        [sys.executable, "-m", "server.cli.main", "nlu", "train", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in config.read_text().splitlines() if "TEDPolicy" in x)
    number = config.read_text().splitlines().index(line) + 1
    assert f"unsupported: config.yml:{number}: policy TEDPolicy: no TED generalisation" in (
        done.stderr
    )
