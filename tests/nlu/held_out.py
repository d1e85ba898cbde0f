"""The labelled held-out set (data/held_out.yml): paraphrases the shipped project never trained
on, for accuracy floors instead of exact answers on training sentences."""

from __future__ import annotations

from pathlib import Path

import yaml

from nlu.markup import Example, parse_example

HELD_OUT = Path(__file__).parent / "data" / "held_out.yml"


def held_out() -> list[Example]:
    data = yaml.safe_load(HELD_OUT.read_text())
    return [
        parse_example(line.strip()[2:], item["intent"])
        for item in data["nlu"]
        for line in item["examples"].splitlines()
        if line.strip()
    ]
