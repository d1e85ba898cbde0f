"""Memoisation trains as Rasa does (nlu/dialogue.py ``_training``): the states from every
event, the actions from the applied events, a form's happy path collapsed; responses are
filled as Rasa fills them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from nlu.dialogue import DialoguePolicy, fill, render
from nlu.project import load_project
from nlu.tracker import (
    ACTION_LISTEN,
    ActionExecuted,
    ActiveLoop,
    Event,
    SlotSet,
    Tracker,
    UserUttered,
)

LEDGER = Path(__file__).parent / "projects" / "ledger"
# The ledger's earnings story as `rasa interactive` saves it: the form's turns written out.
WRITTEN_OUT = """version: "3.1"
stories:
- story: thanks after an earnings search
  steps:
  - intent: search_earnings
  - action: search_form
  - active_loop: search_form
  - slot_was_set:
    - direction: earnings
  - slot_was_set:
    - requested_slot: period
  - intent: inform
  - slot_was_set:
    - period: this week
  - action: search_form
  - slot_was_set:
    - requested_slot: null
  - active_loop: null
  - action: utter_searching
  - intent: thank
  - action: utter_welcome
"""


def _after_thanks(project_root: Path) -> str:
    """'how much did I earn', 'this week', then 'thanks': the action predicted."""
    policy = DialoguePolicy(load_project(project_root))
    tracker = Tracker(dict(policy._initial))
    events: list[Event] = [
        ActionExecuted(ACTION_LISTEN),
        UserUttered("search_earnings", ()),
        ActionExecuted("search_form"),
        ActiveLoop("search_form"),
        SlotSet("direction", "earnings"),
        SlotSet("requested_slot", "period"),
        ActionExecuted(ACTION_LISTEN),
        UserUttered("inform", ()),
        SlotSet("period", "this week"),
        ActionExecuted("search_form"),
        SlotSet("requested_slot", None),
        ActiveLoop(None),
        ActionExecuted("utter_searching"),
        ActionExecuted(ACTION_LISTEN),
        UserUttered("thank", ()),
    ]
    for event in events:
        tracker.update(event)
    return policy.predict(tracker).action


def test_a_form_crossed_in_one_step_continues_after_a_form_filled_over_messages() -> None:
    assert _after_thanks(LEDGER) == "utter_welcome"


def test_a_story_writing_the_forms_turns_out_learns_what_rasa_learns(tmp_path: Path) -> None:
    """Rasa 3.6.21 (rasa train core, then Agent.handle_text; a review's run) answers
    action_default_fallback here: its training pairs the states of every event with the
    actions of the applied events, so the story teaches nothing about 'thanks'. The engine
    paired states and actions both collapsed, then (3464af6) collapsed states with every
    action, and answered utter_searching again: "Searching your earnings…" after "thanks"."""
    project = tmp_path / "ledger"
    shutil.copytree(LEDGER, project, ignore=shutil.ignore_patterns(".rasa"))
    (project / "data" / "stories.yml").write_text(WRITTEN_OUT)
    assert _after_thanks(project) == "action_default_fallback"


def test_a_response_is_filled_as_rasa_fills_it() -> None:
    """Rasa 3.6's interpolate_text: a slot without a value is written None; a placeholder
    that names no slot or argument leaves the whole text as written."""
    slots = {"member_id": "M-1234", "phone": None}
    assert render("Thanks, member {member_id}.", slots) == "Thanks, member M-1234."
    assert render("Your number is {phone}.", slots) == "Your number is None."
    assert render("{member_id}: {unknown}", slots) == "{member_id}: {unknown}"
    assert render("No placeholder.", {}) == "No placeholder."


def test_a_custom_payload_is_filled_at_any_depth_as_rasa_fills_it() -> None:
    """Rasa 3.6's interpolate: every string of the payload's mappings and lists, each on
    its own (a placeholder naming no slot leaves that string alone); keys, numbers and
    booleans as they are."""
    slots = {"member_id": "M-1234", "phone": None}
    custom: dict[str, Any] = {
        "card": {"member": "{member_id}", "visits": 2, "vip": True, "{member_id}": None},
        "links": ["/m/{member_id}", ["{phone}"], "{unknown} stays {member_id}"],
    }
    assert fill(custom, slots) == {
        "card": {"member": "M-1234", "visits": 2, "vip": True, "{member_id}": None},
        "links": ["/m/M-1234", ["None"], "{unknown} stays {member_id}"],
    }
    assert custom["card"]["member"] == "{member_id}"  # the domain's own left as it was
    assert fill("https://clinic.example/{member_id}.png", slots).endswith("/M-1234.png")


# (template, values, what Rasa 3.6.21's interpolate_text returned for them, run in the Rasa
# venv the Makefile builds).
RASA_FILLED = [
    ("Hi {name}, your code is {code-x}.", {"name": "Ada"}, "Hi {name}, your code is {code-x}."),
    ("Hi {name}! {first name}", {"name": "Ada"}, "Hi {name}! {first name}"),
    ("Hi {name}, type {{name}}.", {"name": "Ada"}, "Hi {name}, type {{name}}."),
    ("Hi {first-name}!", {"first-name": "Ada"}, "Hi Ada!"),
    ("Use {{braces}} here", {}, "Use {braces} here"),
    ("Total {amount:.2f}", {"amount:.2f": 3}, "Total 3"),
    ("Hi {name}, empty {phone}.", {"name": "Ada", "phone": None}, "Hi Ada, empty None."),
    ("List {r}", {"r": ["sms"]}, "List ['sms']"),
    ("Hi {name}", {"name": "A0[1"}, "Hi {name}"),
]


@pytest.mark.parametrize(("template", "values", "rasa"), RASA_FILLED)
def test_any_braced_name_is_a_placeholder_as_in_rasa(
    template: str, values: dict[str, object], rasa: str
) -> None:
    assert render(template, values) == rasa


def test_a_template_cannot_reach_a_values_attributes() -> None:
    # Rasa's str.format would read "{0[name].__class__[x]}"; the text stays as written.
    assert render("{name].__class__[x}", {"name": "Ada"}) == "{name].__class__[x}"
    assert render("a } b {name}", {"name": "Ada"}) == "a } b {name}"
