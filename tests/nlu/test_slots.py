"""A Rasa domain's slots and their mappings as the embedded engine reads them
(nlu/slots.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nlu.project import load_project
from nlu.sources import ProjectError
from tests.nlu.dialogue_twin import PROJECTS

# A mapping the ledger's last_search slot gets before its custom one.
WITHOUT = {
    "from_intent": "    - type: from_intent\n      intent: goodbye\n      value: null\n",
    "from_trigger_intent": "    - type: from_trigger_intent\n      intent: greet\n",
    "from_entity": "    - type: from_entity\n      role: departure\n",
}


@pytest.mark.parametrize("kind", WITHOUT)
def test_a_mapping_without_its_value_is_refused_as_rasa_refuses_it(
    tmp_path: Path, kind: str
) -> None:
    """Rasa 3.6.21 does not clear the slot for ``value: null``: its SlotMapping.validate
    refuses the domain ('You need to specify a value for the key ...'), and `rasa train`
    fails. The engine refuses it too, with the file and the mapping's line, rather than
    train a mapping that can never run in Rasa."""
    root = tmp_path / "ledger"
    shutil.copytree(PROJECTS / "ledger", root, ignore=shutil.ignore_patterns(".rasa"))
    domain = root / "domain.yml"
    text = domain.read_text()
    anchor = "  last_search:\n    type: text\n    influence_conversation: false\n    mappings:\n"
    assert anchor in text
    domain.write_text(text.replace(anchor, anchor + WITHOUT[kind], 1))
    line = text[: text.index(anchor) + len(anchor)].count("\n") + 1
    key = "entity" if kind == "from_entity" else "value"
    with pytest.raises(ProjectError) as refused:
        load_project(root)
    assert refused.value.path == domain
    assert refused.value.line == line
    assert refused.value.reason == (
        f"slot last_search: a {kind} mapping needs a value for '{key}'"
        " (Rasa 3.6 refuses the domain too)"
    )
