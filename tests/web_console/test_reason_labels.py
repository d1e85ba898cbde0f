"""Every handoff reason the server can record is worded for people: in the console's labels
(web_console/static/panel/format.js, the queue, the header and the dashboard) and in the
handoff summary (nlu/summary.py). A reason without a label showed as its raw words."""

from __future__ import annotations

import re
from pathlib import Path

import routing.decision
import routing.knowledge
from nlu import rasa, summary

ROOT = Path(__file__).resolve().parents[2]
# Names in routing.decision that are not reasons.
NOT_REASONS = {"nlu_fallback", "unknown"}


def _constants(module: object) -> set[str]:
    return {v for n, v in vars(module).items() if n.isupper() and isinstance(v, str)}


def recorded_reasons() -> set[str]:
    decided = _constants(routing.decision) - NOT_REASONS
    knowledge = {routing.knowledge.KB_NOT_HELPFUL, routing.knowledge.KB_NO_ANSWER}
    # The shipped bot's actions name their own reasons ({"handoff": "..."}).
    actions = (ROOT / "nlu/rasa_project/actions/actions.py").read_text()
    named = set(re.findall(r'"handoff":\s*"(\w+)"', actions))
    return decided | knowledge | {rasa.BOT_UNAVAILABLE} | named


def console_labels() -> set[str]:
    source = (ROOT / "web_console/static/panel/format.js").read_text()
    block = re.search(r"const REASONS = \{(.*?)\n\};", source, re.S)
    assert block is not None
    return set(re.findall(r"(\w+):\s*\"", block.group(1)))


def test_the_reasons_are_found() -> None:
    assert {"requested_human", "safety", "kb_no_answer", "order_lookup_failed"} <= (
        recorded_reasons()
    )


def test_every_recorded_reason_has_a_console_label() -> None:
    assert recorded_reasons() - console_labels() == set()


def test_every_recorded_reason_is_worded_in_the_handoff_summary() -> None:
    assert recorded_reasons() - set(summary.REASONS) == set()
