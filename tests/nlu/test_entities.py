"""Entities: regexes and lookups at word boundaries; annotated values only in the contexts
they were annotated in, and only when the pipeline learns entities (nlu/entities.py)."""

from __future__ import annotations

from pathlib import Path

from nlu.entities import EntityExtractor
from nlu.project import load_project

DOMAIN = """\
version: "3.1"
intents: [transfer, pay_bill]
entities: [PERSON, account]
"""
NLU = """\
version: "3.1"
nlu:
- intent: transfer
  examples: |
    - send 20 euros to [bill](PERSON)
    - transfer money to [anna](PERSON) please
    - pay [bill](PERSON) back tomorrow
    - [anna](PERSON)
- intent: pay_bill
  examples: |
    - I want to pay my credit card bill
    - pay the electricity bill from my [savings](account)
- lookup: account
  examples: |
    - savings
    - checking
"""


def project(tmp_path: Path, pipeline: str) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "config.yml").write_text(f"language: en\npipeline:\n{pipeline}")
    (tmp_path / "domain.yml").write_text(DOMAIN)
    (tmp_path / "data" / "nlu.yml").write_text(NLU)
    return tmp_path


def found(extractor: EntityExtractor, text: str) -> list[tuple[str, str]]:
    return [(e.entity, e.value) for e in extractor.extract(text)]


def test_an_annotated_value_is_found_only_in_an_annotated_context(tmp_path: Path) -> None:
    extractor = EntityExtractor(load_project(project(tmp_path, "  - name: DIETClassifier\n")))
    assert found(extractor, "please send it to bill") == [("PERSON", "bill")]
    assert found(extractor, "anna") == [("PERSON", "anna")]  # alone, as annotated
    # The word where the examples had it unannotated, or in an unseen context: not a name.
    assert found(extractor, "I want to pay my credit card bill") == []
    assert found(extractor, "the bill is wrong") == []
    assert found(extractor, "my phone bill") == []  # names end messages, not every end
    assert found(extractor, "billing question") == []  # never inside a word
    # Lookup tables match anywhere, at word boundaries.
    assert found(extractor, "move it to checking") == [("account", "checking")]


def test_without_a_learned_extractor_annotations_are_not_entities(tmp_path: Path) -> None:
    """Rasa's RegexEntityExtractor uses regexes and lookup tables only; DIET with
    entity_recognition off learns none."""
    pipeline = "  - name: DIETClassifier\n    entity_recognition: false\n"
    pipeline += "  - name: RegexEntityExtractor\n"
    extractor = EntityExtractor(load_project(project(tmp_path, pipeline)))
    assert found(extractor, "please send it to bill") == []
    assert found(extractor, "from my savings") == [("account", "savings")]


FLIGHTS_DOMAIN = """\
version: "3.1"
intents: [book_flight]
entities:
- city:
    roles: [departure, destination]
slots:
  departure:
    type: text
    mappings:
    - type: from_entity
      entity: city
      role: departure
  destination:
    type: text
    mappings:
    - type: from_entity
      entity: city
      role: destination
"""


def city(name: str, role: str) -> str:
    return f'[{name}]{{"entity": "city", "role": "{role}"}}'


FROM, TO = "departure", "destination"
FLIGHTS = [
    f"fly from {city('Paris', FROM)} to {city('Rome', TO)}",
    f"I want to go to {city('Berlin', TO)} from {city('Lyon', FROM)}",
    f"a flight to {city('Madrid', TO)}",
    f"leaving from {city('Rome', FROM)} tomorrow",
    f"from {city('Berlin', FROM)} to {city('Paris', TO)} please",
    f"book me a ticket to {city('Lyon', TO)} from {city('Madrid', FROM)}",
]
FLIGHTS_NLU = (
    'version: "3.1"\nnlu:\n- intent: book_flight\n  examples: |\n'
    + "".join(f"    - {line}\n" for line in FLIGHTS)
    + "- lookup: city\n  examples: |\n"
    + "".join(f"    - {c}\n" for c in ("Paris", "Rome", "Berlin", "Lyon", "Madrid", "Vienna"))
)


def test_roles_are_told_by_the_words_around_the_value_and_fill_their_slots(
    tmp_path: Path,
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "config.yml").write_text("language: en\npipeline:\n  - name: DIETClassifier\n")
    (tmp_path / "domain.yml").write_text(FLIGHTS_DOMAIN)
    (tmp_path / "data" / "nlu.yml").write_text(FLIGHTS_NLU)
    loaded = load_project(tmp_path)
    extractor = EntityExtractor(loaded)
    entities = extractor.extract("I need a flight from Vienna to Berlin")
    assert [(e.value, e.role) for e in entities] == [
        ("Vienna", "departure"),
        ("Berlin", "destination"),
    ]
    reversed_order = extractor.extract("to Madrid from Paris")
    assert [(e.value, e.role) for e in reversed_order] == [
        ("Madrid", "destination"),
        ("Paris", "departure"),
    ]
    # The slot mappings that name a role take only the entity that has it, and are no longer
    # named as unsupported.
    from nlu.extraction import extract_slots
    from nlu.tracker import Featurizer, Tracker, UserUttered

    tracker = Tracker.start(loaded)
    tracker.update(UserUttered("book_flight", entities, "I need a flight from Vienna to Berlin"))
    assert {e.name: e.value for e in extract_slots(loaded, tracker)} == {
        "departure": "Vienna",
        "destination": "Berlin",
    }
    assert not [u for u in loaded.unsupported if "role" in u.feature]
    # The dialogue's state names the role as Rasa's does ("city#departure"), where the domain
    # declares it.
    state = Featurizer(loaded).state(tracker)
    assert {("entity", "city"), ("entity", "city#departure")} <= state
    assert ("entity", "city#destination") in state
