"""A real Rasa 3.6.21 trains what the studio saved (issue 19): Rasa's own starter bot with an
example added to an intent and a new response, both written by the project writer, goes to
`rasa train` (NLU and dialogue) unchanged and a model comes out; the data and domain files are
byte for byte what the writer saved after it (Rasa writes its chosen pipeline into config.yml
as comments). Skipped without the Rasa virtualenv (`make rasa`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from nlu.markup import Example
from nlu.project import project_files
from nlu.project_writer import Variation, add_examples, set_response, write_change
from tests.rasa_stack import RASA_BIN

pytestmark = pytest.mark.skipif(not RASA_BIN.exists(), reason="no Rasa virtualenv (make rasa)")
MOODBOT = Path(__file__).parent / "data" / "moodbot"


def test_rasa_trains_the_files_the_studio_saved(tmp_path: Path) -> None:
    root = tmp_path / "moodbot"
    shutil.copytree(MOODBOT, root)
    write_change(root, add_examples(root, "greet", [Example("howdy partner", "")]))
    write_change(root, set_response(root, "utter_howdy", [Variation(text="Howdy!")]))
    assert "- howdy partner" in (root / "data" / "nlu.yml").read_text()
    assert "utter_howdy" in (root / "domain.yml").read_text()
    saved = {p: p.read_bytes() for p in project_files(root)}

    out = tmp_path / "models"
    done = subprocess.run(
        [
            *(str(RASA_BIN), "train", "--data", "data", "--domain", "domain.yml"),
            *("--config", "config.yml", "--out", str(out), "--fixed-model-name", "studio"),
        ],
        cwd=root,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert (out / "studio.tar.gz").is_file(), output[-3000:]
    after = {p: p.read_bytes() for p in project_files(root)}
    # Rasa itself writes the default pipeline and policies it chose, as comments, into a
    # config.yml that leaves them empty (its own habit): the settings are the same.
    config = root / "config.yml"
    safe = YAML(typ="safe")
    assert safe.load(after.pop(config)) == safe.load(saved.pop(config))
    assert after == saved
