"""`switchboard nlu train | parse | evaluate`, run as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import ROOT

DATA = ROOT / "tests" / "nlu" / "data"
MOODBOT = DATA / "moodbot"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-cache")


def nlu(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli.main", "nlu", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_parse_prints_the_interpretation(cache: Path) -> None:
    done = nlu("parse", "where is my order 10234?", "--cache", str(cache))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["intent"] == "order_status"
    assert result["ranking"][0]["name"] == "order_status"
    assert [(e["entity"], e["value"]) for e in result["entities"]] == [("order_number", "10234")]
    assert result["language"] == "en"
    assert -1 <= result["sentiment"] <= 1


def test_parse_reads_one_sentence_per_line_from_stdin(cache: Path) -> None:
    done = nlu("parse", "--cache", str(cache), stdin="ma carte a été refusée\n\nhello\n")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["intent"], r["language"]) for r in lines] == [
        ("payment_failed", "fr"),
        ("greet", None),
    ]


def test_evaluate_scores_a_rasa_test_file_with_fallbacks_as_out_of_scope(cache: Path) -> None:
    done = nlu("evaluate", "--test", str(DATA / "test_nlu.yml"), "--json", "--cache", str(cache))
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)
    assert result["engine"] == "embedded"
    assert result["examples"] == 12
    assert result["intents"]["nlu_fallback"]["support"] == 2
    assert result["accuracy"] >= 0.8


def test_any_rasa_project_trains_and_is_cross_validated(tmp_path: Path) -> None:
    trained = nlu("train", "--project", str(MOODBOT), "--no-rasa", "--cache", str(tmp_path))
    assert trained.returncode == 0, trained.stderr
    assert "7 intents" in trained.stdout
    done = nlu("evaluate", "--project", str(MOODBOT), "--folds", "3", "--json")
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)
    assert result["method"] == "3-fold cross-validation"
    assert set(result["intents"]) >= {"greet", "mood_unhappy", "bot_challenge"}
    assert result["confused"]  # the most confused pairs are listed
    human = nlu("evaluate", "--project", str(MOODBOT), "--folds", "3")
    assert "accuracy" in human.stdout
    assert "most confused" in human.stdout


def test_malformed_yaml_is_reported_with_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(MOODBOT, broken)
    nlu_file = broken / "data" / "nlu.yml"
    lines = nlu_file.read_text().splitlines()
    lines[6] = "    - hello: [unclosed"  # inside greet's examples block: still valid YAML
    lines[4] = "  examples: |\n  - bad: indentation: here"
    nlu_file.write_text("\n".join(lines))
    done = nlu("train", "--project", str(broken), "--no-rasa", "--cache", str(tmp_path))
    assert done.returncode == 2
    assert f"{nlu_file.resolve()}:" in done.stderr
    assert "invalid YAML" in done.stderr


def test_an_example_that_is_not_a_list_item_is_reported_at_its_intent(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(MOODBOT, broken)
    nlu_file = broken / "data" / "nlu.yml"
    nlu_file.write_text(nlu_file.read_text().replace("    - hey dude", "    hey dude"))
    done = nlu("parse", "hi", "--project", str(broken), "--cache", str(tmp_path))
    assert done.returncode == 2
    assert f"{nlu_file.resolve()}:4: an example must start with '- '" in done.stderr


def test_an_unknown_engine_or_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    done = nlu("evaluate", "--engine", "gpt")
    assert done.returncode == 2
    assert "--engine must be" in done.stderr
    missing = nlu("train", "--project", str(tmp_path / "nope"), "--no-rasa")
    assert missing.returncode == 2
    assert "no such project folder" in missing.stderr
