"""Slots filled from a message through the domain's mappings (nlu/extraction.py), as Rasa
3.6's action_extract_slots fills them."""

from __future__ import annotations

import shutil
from pathlib import Path

from nlu.base import Entity
from nlu.extraction import extract_slots
from nlu.project import Project, load_project
from nlu.tracker import ACTION_LISTEN, ActionExecuted, ActiveLoop, SlotSet, Tracker, UserUttered
from tests.nlu.dialogue_twin import PROJECTS

# A second required slot of the ledger's form with the very mapping its direction has.
COMPARED = """
  compared_with:
    type: text
    influence_conversation: false
    mappings:
    - type: from_entity
      entity: direction
"""


def _ledger_with_a_shared_mapping(tmp_path: Path) -> Project:
    root = tmp_path / "ledger"
    shutil.copytree(PROJECTS / "ledger", root, ignore=shutil.ignore_patterns(".rasa"))
    domain = root / "domain.yml"
    text = domain.read_text().replace("slots:\n", "slots:" + COMPARED, 1)
    domain.write_text(text.replace("      - period\n", "      - period\n      - compared_with\n"))
    return load_project(root)


def _says_earnings(project: Project, *, form: str | None, requested: str | None) -> Tracker:
    tracker = Tracker.start(project)
    if form is not None:
        tracker.extend([ActiveLoop(form), SlotSet("requested_slot", requested)])
    tracker.update(ActionExecuted(ACTION_LISTEN))
    earnings = Entity("direction", "earnings", 0, 8, "earnings", "RegexEntityExtractor")
    tracker.update(UserUttered("inform", (earnings,), "earnings"))
    return tracker


def _filled(project: Project, tracker: Tracker) -> dict[str, object]:
    return {e.name: e.value for e in extract_slots(project, tracker)}


def test_an_entity_mapping_two_form_slots_share_fills_only_the_requested_one(
    tmp_path: Path,
) -> None:
    """Rasa's unique entity mapping check: while the form runs, a from_entity mapping that
    several of its required slots share fills only the slot it asks for."""
    project = _ledger_with_a_shared_mapping(tmp_path)
    asked = _says_earnings(project, form="search_form", requested="direction")
    assert _filled(project, asked) == {"direction": "earnings"}
    # Asked for the period (free text), the shared entity fills neither slot.
    elsewhere = _says_earnings(project, form="search_form", requested="period")
    assert _filled(project, elsewhere) == {"period": "earnings"}
    # Outside the form every mapping applies.
    outside = _says_earnings(project, form=None, requested=None)
    assert _filled(project, outside) == {"direction": "earnings", "compared_with": "earnings"}


def test_an_entity_mapping_one_form_slot_has_fills_it_whatever_the_form_asks() -> None:
    project = load_project(PROJECTS / "ledger")
    tracker = _says_earnings(project, form="search_form", requested="period")
    assert _filled(project, tracker) == {"direction": "earnings", "period": "earnings"}


def test_a_value_the_slot_already_holds_is_set_again() -> None:
    """As Rasa 3.6's ActionExtractSlots: the slot is set again (so its validation sees it
    among the slots to validate), not skipped because nothing changes."""
    project = load_project(PROJECTS / "ledger")
    tracker = _says_earnings(project, form=None, requested=None)
    tracker.extend(extract_slots(project, tracker))
    assert tracker.slots["direction"] == "earnings"
    tracker.update(ActionExecuted(ACTION_LISTEN))
    earnings = Entity("direction", "earnings", 7, 15, "earnings", "RegexEntityExtractor")
    tracker.update(UserUttered("inform", (earnings,), "again earnings"))
    assert extract_slots(project, tracker) == [SlotSet("direction", "earnings")]


def test_a_list_slot_an_intent_fills_holds_a_list_of_its_value() -> None:
    """As Rasa 3.6's extract_slot_value_from_predefined_mapping: from_intent (and from_text,
    from_trigger_intent) give a list of one value, which a list slot keeps whole."""
    project = load_project(PROJECTS / "clinic")
    tracker = Tracker.start(project)
    tracker.update(ActionExecuted(ACTION_LISTEN))
    tracker.update(UserUttered("want_reminders", (), "send me reminders"))
    assert SlotSet("reminders", ["sms"]) in extract_slots(project, tracker)
