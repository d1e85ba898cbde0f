"""A sentence tried on the embedded engine without a conversation (issue 19, "test a
sentence"): the intent ranking and entities, then what the dialogue would do next, as if the
sentence opened a conversation.

The next actions come from the serving model's own policy (``DialoguePolicy.predict``) over a
fresh tracker, as the engine's conversations start; nothing runs: a response is read, not
sent, and a custom action or a form stops the dry run (what follows depends on what it
returns).
"""

from __future__ import annotations

from nlu.base import NLU_FALLBACK, Interpretation
from nlu.conversation import extract_slots
from nlu.dialogue import DEFAULT_FALLBACK, choose_response, render
from nlu.embedded import Model
from nlu.project import Project
from nlu.slots import LANGUAGE_SLOT
from nlu.tracker import ACTION_LISTEN, ActionExecuted, SlotSet, Tracker, UserUttered
from web_console.bot_training_views import EngineTrial, EntityView, NextView, ScoreView

# Actions followed at most (the engine's own limit per message is ten).
MAX_NEXT = 10
RANKED = 10


def ranking_of(interpretation: Interpretation) -> list[ScoreView]:
    return [
        {"intent": s.name, "confidence": round(s.confidence, 4)}
        for s in interpretation.ranking[:RANKED]
    ]


def entities_of(interpretation: Interpretation) -> list[EntityView]:
    return [
        {
            "entity": e.entity,
            "value": e.value,
            "start": e.start,
            "end": e.end,
            "role": e.role,
            "group": e.group,
            "extractor": e.extractor,
        }
        for e in interpretation.entities
    ]


def try_embedded(model: Model, text: str, language: str) -> EngineTrial:
    """The serving model's reading of ``text`` and the actions that would follow it."""
    seen = model.interpret(text)
    return {
        "engine": "embedded",
        "available": True,
        "error": None,
        "intent": seen.intent,
        "retrieval_intent": seen.retrieval_intent,
        "confidence": round(seen.confidence, 4),
        "fallback": seen.intent == NLU_FALLBACK,
        "ranking": ranking_of(seen),
        "entities": entities_of(seen),
        "next": next_actions(model, seen, language),
        "note": None,
    }


def next_actions(model: Model, seen: Interpretation, language: str) -> list[NextView]:
    project = model.project
    tracker = Tracker.start(project)
    tracker.update(ActionExecuted(ACTION_LISTEN))
    if any(s.name == LANGUAGE_SLOT for s in project.slots):
        tracker.update(SlotSet(LANGUAGE_SLOT, language))
    tracker.update(UserUttered(seen.full_intent, seen.entities, seen.text))
    tracker.extend(extract_slots(project, tracker))
    shown: list[NextView] = []
    for _ in range(MAX_NEXT):
        prediction = model.policy.predict(tracker)
        action = prediction.action
        if action == ACTION_LISTEN:
            break
        says = _said(project, tracker, action, language)
        shown.append(
            {
                "action": action,
                "by": prediction.policy,
                "confidence": None,
                "says": says,
                "flows": flows_running(project, seen.full_intent, action),
            }
        )
        if action == DEFAULT_FALLBACK or (says is None and not action.startswith("utter_")):
            break  # the fallback forgets the message; a custom action or form decides the rest
        tracker.update(ActionExecuted(action, hidden=prediction.hide))
    return shown


def _said(project: Project, tracker: Tracker, action: str, language: str) -> str | None:
    """The text the action would say (as Conversations._utter picks it), or None."""
    name = "utter_default" if action == DEFAULT_FALLBACK else action
    latest = tracker.latest_message
    if name.removeprefix("utter_") in project.retrieval_intents:
        # utter_faq says the sub-intent's response (utter_faq/ask_hours).
        if latest is None or latest.base_intent != name.removeprefix("utter_"):
            return None
        name = f"utter_{latest.intent}"
    variations = project.responses.get(name)
    if not variations:
        return None
    slots = {**tracker.slots, LANGUAGE_SLOT: language}
    chosen = choose_response(variations, slots)
    if chosen is None or chosen.text is None:
        return None
    return render(chosen.text, slots)


def flows_running(project: Project, intent: str, action: str) -> list[str]:
    """The rules and stories where the intent is followed by the action (named as the Bot
    area's flows list names them)."""
    names: list[str] = []
    base = intent.split("/", 1)[0]
    for flow in project.flows:
        steps = flow.steps
        for index, step in enumerate(steps[:-1]):
            after = steps[index + 1]
            if (
                step.kind == "intent"
                and step.name in (intent, base)
                and after.kind == "action"
                and after.name == action
            ):
                names.append(f"{'rule' if flow.is_rule else 'story'} {flow.name!r}")
                break
    return names[:5]
