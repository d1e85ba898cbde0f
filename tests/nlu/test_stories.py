"""Rules and stories as Rasa reads them (nlu/stories.py): `or:` alternatives, conditions,
and stories joined at their checkpoints, which the embedded engine then follows."""

from __future__ import annotations

import shutil
from pathlib import Path

from nlu.base import Dialogue, Interpretation, PastTurn
from nlu.conversation import Conversations
from nlu.dialogue import DialoguePolicy
from nlu.project import load_project
from tests.harness import ROOT

MOODBOT = ROOT / "tests" / "nlu" / "data" / "moodbot"

CHECKPOINTS = """\
version: "3.1"
stories:
- story: greeted
  steps:
  - intent: greet
  - action: utter_greet
  - checkpoint: asked_mood

- story: fine
  steps:
  - checkpoint: asked_mood
  - intent: mood_great
  - action: utter_happy

- story: not fine
  steps:
  - checkpoint: asked_mood
  - or:
    - intent: mood_unhappy
    - intent: deny
  - action: utter_cheer_up
"""


def moodbot_with(tmp_path: Path, stories: str) -> Path:
    project = tmp_path / "bot"
    shutil.copytree(MOODBOT, project)
    (project / "data" / "stories.yml").write_text(stories)
    # Memoisation and rules only: no TED (Rasa's default) to generalise past the stories.
    config = project / "config.yml"
    config.write_text(
        config.read_text().replace(
            "policies:", "policies:\n  - name: MemoizationPolicy\n  - name: RulePolicy"
        )
    )
    return project


def test_stories_are_joined_where_one_ends_at_a_checkpoint_another_starts(
    tmp_path: Path,
) -> None:
    project = load_project(moodbot_with(tmp_path, CHECKPOINTS))
    stories = sorted((f.name, [s.name for s in f.steps]) for f in project.flows if not f.is_rule)
    assert stories == [
        ("greeted > fine", ["greet", "utter_greet", "mood_great", "utter_happy"]),
        # One story per alternative of the or: step.
        ("greeted > not fine", ["greet", "utter_greet", "deny", "utter_cheer_up"]),
        ("greeted > not fine", ["greet", "utter_greet", "mood_unhappy", "utter_cheer_up"]),
    ]
    assert not any("checkpoint" in n.feature for n in project.unsupported)


async def test_the_engine_follows_a_story_across_its_checkpoint(tmp_path: Path) -> None:
    project = load_project(moodbot_with(tmp_path, CHECKPOINTS))
    policy = DialoguePolicy(project)
    bot = Conversations({})
    history = (PastTurn("greet"), PastTurn(action="utter_greet"))
    for intent, answer in (("mood_great", "utter_happy"), ("deny", "utter_cheer_up")):
        said = await bot.respond(
            project, policy, Dialogue(intent, Interpretation("…", intent, 0.99), "en", history)
        )
        assert [m.action for m in said.messages] == [answer]
    # Without the greeting first, the story does not apply (memoisation is exact): the
    # default fallback, which says nothing in a project without utter_default.
    alone = await bot.respond(
        project, policy, Dialogue("c", Interpretation("…", "mood_great", 0.99), "en")
    )
    assert (alone.messages, alone.handoff) == ((), None)
