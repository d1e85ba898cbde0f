"""Training on a real Rasa 3.6.21 from the console's job (issue 19): a Rasa server started
with no model (`rasa run --enable-api`) is sent the project's files through /model/train, the
job loads the trained model with PUT /model, and Rasa then understands a sentence of the
project. The project is Rasa's moodbot with a small pipeline (a logistic regression instead of
DIET), so that training takes a minute rather than several on these two cores. Skipped when
Rasa's virtualenv is not installed (`make rasa`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.processes import stop as stop_process
from server.services.bot_training import BotTraining, TrainingSetup
from tests.harness import free_port
from tests.rasa_stack import RASA_BIN, _wait
from web_console.port import Agent

MOODBOT = Path(__file__).parents[2] / "nlu" / "data" / "moodbot"
SMALL = """recipe: default.v1
assistant_id: studio-test
language: en
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: LogisticRegressionClassifier
policies:
  - name: MemoizationPolicy
  - name: RulePolicy
"""

pytestmark = pytest.mark.skipif(not RASA_BIN.exists(), reason="no Rasa virtualenv (make rasa)")


@pytest.fixture
def rasa_url(tmp_path: Path) -> Iterator[str]:
    """A Rasa server with no model yet, working in its own folder (its models/ is there)."""
    home = tmp_path / "rasa"
    home.mkdir()
    (home / "empty").mkdir()
    port = free_port()
    log = tmp_path / "rasa.log"
    command = [str(RASA_BIN), "run", "--enable-api", "--model", "empty"]
    command += ["--interface", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=home,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/", process, log)
        yield url
    finally:
        stop_process(process, grace=15)


async def test_a_real_rasa_trains_the_project_and_serves_the_new_model(
    tmp_path: Path, rasa_url: str
) -> None:
    project = tmp_path / "moodbot"
    shutil.copytree(MOODBOT, project)
    (project / "config.yml").write_text(SMALL)
    trainer = BotTraining(None, None, TrainingSetup(project, tmp_path / "cache", rasa_url))
    try:
        started = await trainer.train(Agent("d", "designer@example.test", "D"), "rasa")
        job = trainer.jobs.get(started["id"])
        assert job is not None
        async for _ in job.follow():
            pass
        assert job.state == "done", job.view()
        assert isinstance(job.result, dict)
        assert str(job.result["model"]).endswith(".tar.gz")
        assert any(s["step"].startswith("loading ") for s in job.steps)
        trial = await trainer.trial("hello there")
        rasa = trial["engines"][1]
        assert rasa["available"] is True, rasa
        assert rasa["intent"] == "greet"
        assert rasa["next"][0]["action"] == "utter_greet", rasa["next"]
    finally:
        await trainer.close()
