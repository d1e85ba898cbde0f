"""What the bot would answer an intent with, as text an agent can start from: the project's
rules and stories pick the actions that follow the intent (nlu/dialogue.py), and the first
of them that is a response gives its variation for the customer's language.

Both engines answer from the same project files (Rasa's domain and rules), so this is the
bot's answer whichever engine served the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlu.dialogue import DialoguePolicy, choose_response, render
from nlu.project import Project
from nlu.tracker import ACTION_LISTEN, ActionExecuted, Tracker, UserUttered

# Responses that are no answer for an agent to send: the bot's own hand-over and fallback
# lines, its introduction, and the pleasantries that only close or open a turn.
NOT_ANSWERS = frozenset(
    {
        "utter_handoff",
        "utter_default",
        "utter_out_of_scope",
        "utter_iamabot",
        "utter_greet",
        "utter_goodbye",
        "utter_you_are_welcome",
        "utter_anything_else",
        "utter_order_lookup_unavailable",
    }
)
# Intents that answer the bot's last question: alone they say nothing a response could answer.
REPLIES_TO_THE_BOT = frozenset({"affirm", "deny", "inform"})
# The bot's actions followed to find a response (an answer is its first few).
MAX_STEPS = 5


@dataclass(frozen=True, slots=True)
class BotAnswer:
    intent: str
    response: str  # the response's name in the domain, e.g. utter_return_refund
    text: str


class BotAnswers:
    """The project's answers by intent (built once per project: the policy indexes its
    rules)."""

    def __init__(self, project: Project) -> None:
        self._project = project
        self._policy = DialoguePolicy(project)

    def answer(self, intent: str, language: str) -> BotAnswer | None:
        """The bot's answer to the intent alone, in the language (its default variation for
        a language the project does not speak); None when what follows the intent is a
        custom action, a hand-over or a pleasantry."""
        if intent not in self._project.intents or intent in REPLIES_TO_THE_BOT:
            return None
        tracker = Tracker.start(self._project)
        tracker.extend([ActionExecuted(ACTION_LISTEN), UserUttered(intent)])
        for _ in range(MAX_STEPS):
            action = self._policy.predict(tracker).action
            if action in NOT_ANSWERS or action == ACTION_LISTEN:
                return None
            tracker.update(ActionExecuted(action))
            name = action.removeprefix("utter_")
            if name in self._project.retrieval_intents and intent.startswith(f"{name}/"):
                # A retrieval action answers with the response of the sub-intent.
                name = intent
            variations = self._project.responses.get(f"utter_{name}")
            if not variations:
                continue
            chosen = choose_response(variations, {"language": language})
            if chosen is None or not chosen.text:
                continue
            return BotAnswer(intent, action, render(chosen.text, {}))
        return None
