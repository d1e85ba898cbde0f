"""The embedded engine's turn: after a customer message, run the actions the dialogue policy
predicts (responses, custom actions) until it says to listen, as Rasa's message processor
does."""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from nlu.actions import BOT_REQUESTED, ActionContext, CustomAction
from nlu.base import BotTurn, Dialogue
from nlu.dialogue import DEFAULT_FALLBACK, DialoguePolicy, Turn, fill_slots
from nlu.project import Project

log = structlog.get_logger(__name__)


class Conversations:
    """Answers customer messages from a trained project's dialogue."""

    def __init__(self, actions: Mapping[str, CustomAction]) -> None:
        self._actions = actions

    async def respond(
        self, project: Project, policy: DialoguePolicy, dialogue: Dialogue
    ) -> BotTurn:
        past = [
            Turn("intent", t.intent, tuple(e.entity for e in t.entities))
            if t.intent is not None
            else Turn("action", t.action or "")
            for t in dialogue.history
        ]
        current = dialogue.interpretation
        past.append(Turn("intent", current.intent, tuple(e.entity for e in current.entities)))
        slots = fill_slots(
            project,
            [t.entities for t in dialogue.history] + [current.entities],
            {"language": dialogue.language},
        )
        context = ActionContext(
            dialogue.conversation_id, dialogue.language, slots, project.responses
        )
        for action in policy.next_actions(past):
            if action == DEFAULT_FALLBACK:
                context.utter("utter_default", action=DEFAULT_FALLBACK)
            elif action.startswith("utter_"):
                context.utter(action)
            elif action in self._actions:
                try:
                    await self._actions[action](context)
                except Exception as error:  # a broken action must not stop the conversation
                    log.exception("custom action failed", action=action)
                    return BotTurn(tuple(context.messages), BOT_REQUESTED, f"{action}: {error}")
            else:
                log.warning("custom action not available in the embedded engine", action=action)
                return BotTurn(tuple(context.messages), BOT_REQUESTED, f"no action {action}")
            if context.handoff is not None:
                break
        return BotTurn(tuple(context.messages), context.handoff)
