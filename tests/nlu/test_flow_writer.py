"""Rules and stories edited as step lists: only the item's lines change, a rule's condition is
kept, a story the step list cannot say (entities, or:, checkpoints) is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nlu.flow_writer import FlowStep, delete_flow, set_flow
from nlu.project import load_project
from nlu.project_writer import AlreadyThere, BadEdit, UnknownItem, write_change

PROJECTS = Path(__file__).parent / "projects"
SHIPPED = Path(__file__).resolve().parents[2] / "nlu" / "rasa_project"


def _copy(source: Path, tmp_path: Path) -> Path:
    root = tmp_path / source.name
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("__pycache__", "actions"))
    return root


def test_a_rules_steps_change_and_its_condition_stays(tmp_path: Path) -> None:
    root = _copy(PROJECTS / "bank", tmp_path)
    before = (root / "data" / "rules.yml").read_text()
    steps = [
        FlowStep("intent", "check_balance"),
        FlowStep("action", "action_check_balance"),
        FlowStep("action", "transfer_form"),
        FlowStep("loop", "transfer_form"),
        FlowStep("slot", "requested_slot", None),
    ]
    change = set_flow(
        root,
        "rule",
        "balance during a transfer",
        steps,
        original="the balance asked in the middle of a transfer",
    )
    assert change.lines_changed == (3, 1)
    write_change(root, change)
    after = (root / "data" / "rules.yml").read_text()
    assert (
        "- rule: balance during a transfer\n  condition:\n  - active_loop: transfer_form\n" in after
    )
    assert after.replace("- rule: balance during a transfer", "") != before
    flows = [f for f in load_project(root).flows if f.name == "balance during a transfer"]
    assert len(flows) == 1


def test_a_new_rule_and_story_are_added_and_removed(tmp_path: Path) -> None:
    root = _copy(SHIPPED, tmp_path)
    rules = (root / "data" / "rules.yml").read_bytes()
    stories = (root / "data" / "stories.yml").read_bytes()
    steps = [FlowStep("intent", "greet"), FlowStep("action", "utter_greet")]
    write_change(root, set_flow(root, "rule", "hello again", steps))
    write_change(root, set_flow(root, "story", "hello story", [*steps, *steps]))
    names = {f.name for f in load_project(root).flows}
    assert {"hello again", "hello story"} <= names
    write_change(root, delete_flow(root, "rule", "hello again"))
    write_change(root, delete_flow(root, "story", "hello story"))
    assert (root / "data" / "rules.yml").read_bytes() == rules
    assert (root / "data" / "stories.yml").read_bytes() == stories


def test_what_a_step_list_cannot_say_is_refused(tmp_path: Path) -> None:
    root = _copy(SHIPPED, tmp_path)
    steps = [FlowStep("intent", "greet"), FlowStep("action", "utter_greet")]
    with pytest.raises(AlreadyThere, match="YAML view"):
        set_flow(root, "story", "x", steps, original="order status, number given when asked")
    with pytest.raises(AlreadyThere):
        set_flow(root, "rule", "greet", steps)
    with pytest.raises(UnknownItem):
        set_flow(root, "rule", "x", steps, original="no such rule")
    with pytest.raises(BadEdit):
        set_flow(root, "rule", "x", [FlowStep("intent", "two words")])
    with pytest.raises(BadEdit):
        set_flow(root, "rule", "x", [])
