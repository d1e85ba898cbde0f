"""`switchboard nlu evaluate`'s out-of-scope figures (issue 17), run as a user runs it, on
Rasa's moodbot: in-scope accuracy, out-of-scope recall and overall accuracy, and in --json
every prediction, macro F1 and the training time."""

from __future__ import annotations

import json
from pathlib import Path

from tests.server.cli.test_nlu_commands import MOODBOT, nlu

OUT_OF_SCOPE = """version: "3.1"
nlu:
- intent: nlu_fallback
  examples: |
    - what is the boiling point of mercury
    - qwop zxqv blarg
    - comment réparer une chambre à air
"""


def test_evaluate_json_has_the_out_of_scope_figures_and_every_prediction(
    tmp_path: Path,
) -> None:
    mine = tmp_path / "mine.yml"
    mine.write_text(OUT_OF_SCOPE)
    done = nlu(
        "evaluate", "--project", str(MOODBOT), "--folds", "3", "--json", "--out-of-scope", str(mine)
    )
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)
    examples = 68  # moodbot's
    left_out = [p for p in result["predictions"] if p["source"] == "left-out intents"]
    assert result["examples"] == examples + 3 + len(left_out)
    assert left_out  # each left-out intent's examples, judged by a model that never saw it
    assert {p["gold"] for p in left_out} == {"nlu_fallback"}
    assert set(result["out_of_scope_recall_by_source"]) == {"mine", "left-out intents"}
    for key in ("in_scope_accuracy", "out_of_scope_recall", "accuracy", "top1_accuracy"):
        assert 0 <= result[key] <= 1, key
    assert 0 <= result["macro avg"]["f1-score"] <= 1
    assert result["training_seconds"] > 0
    judged = {p["text"]: p for p in result["predictions"]}
    gibberish = judged["qwop zxqv blarg"]
    assert gibberish["gold"] == "nlu_fallback"
    assert gibberish["source"] == "mine"
    assert gibberish["right"] == (gibberish["predicted"] == "nlu_fallback")
    assert set(gibberish) >= {"predicted", "first_choice", "confidence", "scope", "reasons"}
    in_scope = [p for p in result["predictions"] if p["source"] == "cross-validation"]
    assert len(in_scope) == examples
    right = sum(p["right"] for p in in_scope) / examples
    assert round(right, 4) == result["in_scope_accuracy"]


def test_evaluate_prints_the_three_figures_per_project() -> None:
    done = nlu("evaluate", "--project", str(MOODBOT), "--folds", "3", "--no-leave-intents-out")
    assert done.returncode == 0, done.stderr
    assert "in-scope accuracy" in done.stdout
    assert "out-of-scope recall" in done.stdout
    assert "overall accuracy" in done.stdout
    # The shipped sets by default, each with its recall.
    for name in ("other_domains_en", "other_domains_fr", "gibberish"):
        assert name in done.stdout
    assert "left-out intents" not in done.stdout


def test_a_broken_out_of_scope_file_fails_before_any_training(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("version: '3.1'\nexamples: []\n")
    done = nlu("evaluate", "--project", str(MOODBOT), "--out-of-scope", str(broken))
    assert done.returncode == 2
    assert f"{broken}:1: not a Rasa NLU file" in done.stderr
