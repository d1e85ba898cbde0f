"""Every part of a Rasa project the embedded engine does not run is named with its file and
line and what the engine does instead (nlu/support.py, nlu/project.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from nlu.project import load_project
from nlu.support import still_unsupported
from tests.harness import ROOT

MOODBOT = ROOT / "tests" / "nlu" / "data" / "moodbot"

CONFIG = """\
recipe: default.v1
language: en
pipeline:
  - name: SpacyNLP
    model: en_core_web_md
  - name: SpacyTokenizer
  - name: DIETClassifier
    epochs: 100
  - name: DucklingEntityExtractor
    url: http://localhost:8000
    dimensions: [time]
  - name: EntitySynonymMapper
  - name: my_package.MyClassifier
policies:
  - name: MemoizationPolicy
  - name: TEDPolicy
    max_history: 5
  - name: RulePolicy
"""


def test_components_and_policies_the_engine_does_not_run_are_named(tmp_path: Path) -> None:
    project = tmp_path / "bot"
    shutil.copytree(MOODBOT, project)
    (project / "config.yml").write_text(CONFIG)
    notes = {(n.path, n.line, n.feature) for n in load_project(project).unsupported}
    assert notes == {
        ("config.yml", 4, "component SpacyNLP"),
        ("config.yml", 6, "component SpacyTokenizer"),
        # DIET learns entities unless told not to; the engine only finds annotated values.
        ("config.yml", 7, "DIETClassifier entity recognition"),
        ("config.yml", 9, "component DucklingEntityExtractor"),
        ("config.yml", 13, "component my_package.MyClassifier"),
        ("config.yml", 16, "policy TEDPolicy"),
    }
    spacy = next(n for n in load_project(project).unsupported if "SpacyNLP" in n.feature)
    assert str(spacy).startswith("config.yml:4: component SpacyNLP: spaCy is not loaded")


def test_a_project_the_engine_runs_whole_names_nothing() -> None:
    assert load_project(ROOT / "tests" / "nlu" / "projects" / "bank").unsupported == []


def test_rasa_s_default_pipeline_and_policies_are_audited_too() -> None:
    """Rasa's starter bot leaves both sections empty: Rasa then runs its default config,
    with DIET learning entities and TED."""
    notes = [n.feature for n in load_project(MOODBOT).unsupported]
    assert notes == [
        "DIETClassifier entity recognition (Rasa's default pipeline)",
        "policy UnexpecTEDIntentPolicy (Rasa's default policies)",
        "policy TEDPolicy (Rasa's default policies)",
    ]


def test_slot_mappings_the_engine_does_not_fill_are_named(tmp_path: Path) -> None:
    project = tmp_path / "bot"
    shutil.copytree(MOODBOT, project)
    domain = project / "domain.yml"
    domain.write_text(
        domain.read_text()
        + """
entities:
  - city
slots:
  origin:
    type: text
    mappings:
    - type: from_entity
      entity: city
      role: departure
  destination:
    type: text
    mappings:
    - type: custom
      action: action_find_destination
"""
    )
    loaded = load_project(project)
    notes = [(n.feature, n.instead) for n in loaded.unsupported]
    # A role in a from_entity mapping is filled now (tests/nlu/test_entities.py): only the
    # custom mapping's action is named, which only an action server runs.
    assert [n for n in notes if n[0].startswith("slot ")] == [
        (
            "slot destination: custom mapping action action_find_destination",
            "runs on the action server (SWITCHBOARD_ACTION_SERVER_URL) after each message;"
            " without one, the slot is filled only by the slot events your actions return",
        ),
    ]
    assert not any(
        "destination" in n for n in still_unsupported(loaded, duckling=False, action_server=True)
    )


def test_what_rasa_refuses_to_train_is_named_where_the_engine_trains_it(tmp_path: Path) -> None:
    """Rasa 3.6's rasa train stops without a config.yml, without its language, and on a
    model_confidence it removed (linear_norm, cosine, inner); the engine trains each, and says
    what it does instead."""
    project = tmp_path / "bot"
    shutil.copytree(MOODBOT, project)
    (project / "config.yml").unlink()
    notes = [(n.path, n.line, n.feature) for n in load_project(project).unsupported]
    assert notes[0] == ("config.yml", None, "no config.yml")
    assert "policy TEDPolicy (Rasa's default policies)" in [n[2] for n in notes]

    (project / "config.yml").write_text(
        "recipe: default.v1\n"
        "pipeline:\n"
        "  - name: WhitespaceTokenizer\n"
        "  - name: DIETClassifier\n"
        "    entity_recognition: false\n"
        "    model_confidence: linear_norm\n"
        "  - name: ResponseSelector\n"
        "    model_confidence: softmax\n"
        "policies:\n"
        "  - name: RulePolicy\n"
    )
    named = load_project(project).unsupported
    assert [(n.line, n.feature) for n in named] == [
        (None, "no language in config.yml"),
        (4, "DIETClassifier model_confidence: linear_norm"),
    ]
    assert "Rasa 3.6 refuses to train with it" in str(named[1])
