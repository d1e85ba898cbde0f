"""The clinic bot's custom actions (rasa-sdk): a form validation that extracts the day from
the message's words, a global slot validation, and the action of a custom slot mapping."""

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker, ValidationAction
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

DAYS = re.compile(r"\b(today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b")
MEMBER = re.compile(r"\bM-\d{4}\b")


class ValidateAppointmentForm(FormValidationAction):
    def name(self) -> str:
        return "validate_appointment_form"

    async def extract_day(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = DAYS.search((tracker.latest_message.get("text") or "").lower())
        return {"day": found.group(1)} if found else {}

    def validate_day(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == "sunday":
            dispatcher.utter_message(text="We are closed on Sundays.")
            return {"day": None}
        return {"day": value}


class ValidateSlotMappings(ValidationAction):
    """action_validate_slot_mappings: Rasa calls it after every message."""

    def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if str(value).lower().endswith(".invalid"):
            dispatcher.utter_message(text="That address does not look right.")
            return {"email": None}
        return {"email": str(value).lower()}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # Said whenever a message sets the number, the same number again included.
        dispatcher.utter_message(text=f"Checked {value}: it takes text messages.")
        return {"phone": value}


class ExtractMemberId(Action):
    def name(self) -> str:
        return "action_extract_member_id"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        found = MEMBER.search(tracker.latest_message.get("text") or "")
        if found is None:
            return []
        # Rasa 3.6 keeps only the slots a mapping's action sets: this is never said.
        dispatcher.utter_message(text=f"Found member {found.group(0)}.")
        return [SlotSet("member_id", found.group(0)), SlotSet("identified", True)]
