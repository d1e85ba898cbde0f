"""A real Rasa 3.6.21 reads what the studio writes: the shipped project with an intent in two
languages (an entity with a role), a response with buttons and an image, a synonym, a regex,
a lookup table and a rule, all written by the project writer, passes `rasa data validate`
with no warning about any of them."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from nlu.base import Button
from nlu.flow_writer import FlowStep, set_flow
from nlu.markup import Example, Span
from nlu.project import SHIPPED_PROJECT
from nlu.project_writer import (
    Change,
    Variation,
    add_intent,
    set_lookup,
    set_regex,
    set_response,
    set_synonym,
    write_change,
)
from tests.rasa_stack import RASA_BIN

pytestmark = pytest.mark.skipif(not RASA_BIN.exists(), reason="no Rasa virtualenv (make rasa)")


def test_rasa_validates_the_files_the_studio_wrote(tmp_path: Path) -> None:
    root = tmp_path / "bot"
    shutil.copytree(SHIPPED_PROJECT, root, ignore=shutil.ignore_patterns("__pycache__"))
    examples = [
        Example("what is the weather in Paris", "", (Span("city", "Paris", "Paris", 23, 28),)),
        Example(
            "quel temps fait-il à Lyon",
            "",
            (Span("city", "Lyon", "Lyon", 21, 25, role="destination"),),
        ),
        Example("weather please", ""),
        Example("la météo", ""),
    ]
    buttons = (Button("Thanks", "/thanks"),)
    variations = [
        Variation(text="Sunny", buttons=buttons),
        Variation(text="Beau temps", language="fr", image="https://example.org/sun.png"),
    ]
    rule = [FlowStep("intent", "ask_weather"), FlowStep("action", "utter_weather")]
    edits: list[Callable[[], Change]] = [
        lambda: add_intent(root, "ask_weather", examples),
        lambda: set_response(root, "utter_weather", variations),
        lambda: set_synonym(root, "Paris", ["paname"]),
        lambda: set_regex(root, "zip", [r"\d{5}"]),
        lambda: set_lookup(root, "city", ["Paris", "Lyon"]),
        lambda: set_flow(root, "rule", "weather", rule),
    ]
    for edit in edits:
        write_change(root, edit())
    done = subprocess.run(
        [
            str(RASA_BIN),
            "data",
            "validate",
            "--domain",
            str(root / "domain.yml"),
            "--data",
            str(root / "data"),
            "--config",
            str(root / "config.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    warned = [
        line
        for line in output.splitlines()
        if ("Warning" in line or "Issue" in line or "not " in line)
        and any(name in line for name in ("weather", "city", "zip", "Paris"))
    ]
    assert warned == []
