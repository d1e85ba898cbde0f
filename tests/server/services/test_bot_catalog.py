"""What the Bot area shows of a project (server/services/bot_catalog.py), built from the
project as the engine loads it: retrieval intents by their full name, examples' entity spans,
a rule's conditions and its ``slot: null``, stories joined at a checkpoint named where they
start, and why an intent hands over."""

from __future__ import annotations

from pathlib import Path

from nlu.project import load_project
from server.services.bot_catalog import build

FAQ = Path(__file__).parents[2] / "nlu" / "projects" / "faq"

DOMAIN = """\
version: "3.1"
intents: [greet, complain, inform]
entities: [city]
slots:
  city:
    type: text
    mappings: [{type: from_entity, entity: city}]
responses:
  utter_greet:
    - text: Hello!
      buttons:
        - {title: Track, payload: /track}
    - text: Bonjour !
      condition: [{type: slot, name: language, value: fr}]
  utter_sorry:
    - text: Sorry.
actions: [action_handoff]
"""

NLU = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello there, how are you today
    - bonjour, comment allez-vous aujourd'hui
- intent: complain
  examples: |
    - this is not working at all for me
- intent: inform
  examples: |
    - I live in [Paris](city) and [Lyon]{"entity": "city", "role": "to"}
"""

STORIES = """\
version: "3.1"
rules:
- rule: greet when no city
  condition:
  - slot_was_set:
    - city: null
  steps:
  - intent: greet
  - action: utter_greet
stories:
- story: complain first
  steps:
  - intent: complain
  - action: utter_sorry
  - checkpoint: after_complaint

- story: then hand over
  steps:
  - checkpoint: after_complaint
  - intent: inform
  - slot_was_set:
    - city: Paris
  - action: action_handoff
"""


def small_project(root: Path) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "config.yml").write_text("language: en\npipeline: []\npolicies: []\n")
    (root / "domain.yml").write_text(DOMAIN)
    (root / "data" / "nlu.yml").write_text(NLU)
    (root / "data" / "stories.yml").write_text(STORIES)
    return root


def test_retrieval_intents_are_listed_by_their_full_name() -> None:
    catalog = build(load_project(FAQ), frozenset({"en"}), frozenset())
    names = [row["name"] for row in catalog.intents["intents"]]
    assert "faq/opening_hours" in names
    assert catalog.examples["faq/opening_hours"]


def test_spans_flows_and_handoffs_of_a_small_project(tmp_path: Path) -> None:
    project = load_project(small_project(tmp_path / "bot"))
    catalog = build(project, frozenset({"en", "fr"}), frozenset({"complain"}))

    [example] = catalog.examples["inform"]
    assert example["text"] == "I live in Paris and Lyon"
    paris, lyon = example["entities"]
    assert example["text"][paris["start"] : paris["end"]] == "Paris"
    assert (lyon["entity"], lyon["role"]) == ("city", "to")
    assert example["text"][lyon["start"] : lyon["end"]] == "Lyon"

    rows = {row["name"]: row for row in catalog.intents["intents"]}
    assert rows["greet"]["examples"] == {"en": 1, "fr": 1}
    assert rows["complain"]["handoff_why"] == ["SWITCHBOARD_BOT_HUMAN_INTENTS names it"]
    assert rows["inform"]["handoff_why"] == [
        "story 'complain first > then hand over' runs action_handoff"
    ]
    assert rows["greet"]["handoff"] is False

    [greet] = [r for r in catalog.responses["responses"] if r["name"] == "utter_greet"]
    assert [v["language"] for v in greet["variations"]] == ["en", "fr"]
    assert greet["variations"][0]["buttons"] == [{"title": "Track", "payload": "/track"}]

    flows = {f["name"]: f for f in catalog.flows["flows"]}
    rule = flows["greet when no city"]
    assert (rule["path"], rule["line"]) == ("data/stories.yml", 3)
    assert rule["conditions"] == [{"kind": "slot", "name": "city", "entities": [], "value": None}]
    joined = flows["complain first > then hand over"]
    assert (joined["kind"], joined["path"], joined["line"]) == ("story", "data/stories.yml", 11)
    assert [(s["kind"], s["name"], s["value"]) for s in joined["steps"]] == [
        ("intent", "complain", None),
        ("action", "utter_sorry", None),
        ("intent", "inform", None),
        ("slot", "city", "Paris"),
        ("action", "action_handoff", None),
    ]
