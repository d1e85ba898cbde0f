"""The same conversation, turn by turn, with a real Rasa 3.6.21 and with the embedded engine,
both trained from one of the small Rasa projects under tests/nlu/projects.

Rasa models are trained once per content of the project (cached under .cache/rasa-models,
keyed by the files' fingerprint, as `switchboard nlu train` keys them): about a minute each
on two cores. Each side reports, per customer message, the bot's texts and the actions it
ran (listens and Rasa's own bookkeeping actions left out).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.processes import stop as stop_process
from nlu.base import BotMessage, Dialogue, PastTurn
from nlu.embedded import EmbeddedInterpreter, load_or_train
from nlu.project import Project
from nlu.tracker import ACTION_LISTEN, ActionExecuted, MessageForgotten, UserUttered
from server.cli.nlu_commands import rasa_model_path
from tests.harness import free_port
from tests.rasa_stack import RASA_BIN, RASA_MODELS, START_TIMEOUT, _wait

PROJECTS = Path(__file__).parent / "projects"
# Rasa's actions that every turn runs, which the embedded engine does not name.
BOOKKEEPING = frozenset({ACTION_LISTEN, "action_session_start", "action_extract_slots"})
# Said between two turns of a conversation: the session expires (its latest message two
# hours older than it was), in both engines.
SESSION_EXPIRES = "<the session expires>"
EXPIRY = 2 * 3600.0
# The output channel Rasa's REST webhook answers on (its CollectingOutputChannel is
# "collector"); the embedded engine is told the same.
CHANNEL = "collector"


@dataclass(frozen=True)
class Reply:
    texts: tuple[str, ...]
    actions: tuple[str, ...]
    # What the bot showed besides its texts, in the order Rasa's output channel sends it
    # (a message's buttons with its text, then its custom payload, then its image), each
    # as JSON: ["buttons", [[title, payload], ...]], ["custom", {...}], ["image", url].
    extras: tuple[str, ...] = ()


def _extra(kind: str, value: Any) -> str:
    return json.dumps([kind, value], sort_keys=True)


def _bot_extras(message: BotMessage) -> list[str]:
    extras = []
    if message.buttons:
        extras.append(_extra("buttons", [[b.title, b.payload] for b in message.buttons]))
    if message.custom:
        extras.append(_extra("custom", message.custom))
    if message.image:
        extras.append(_extra("image", message.image))
    return extras


def _rasa_extras(message: dict[str, Any]) -> list[str]:
    extras = []
    if message.get("buttons"):
        buttons = [[b.get("title"), b.get("payload")] for b in message["buttons"]]
        extras.append(_extra("buttons", buttons))
    for kind in ("custom", "image"):
        if message.get(kind):
            extras.append(_extra(kind, message[kind]))
    return extras


def rasa_model(project: Path) -> Path:
    """The project's Rasa model, trained now if its files changed since the last one."""
    model = rasa_model_path(project, RASA_MODELS)
    if model.exists():
        return model
    RASA_MODELS.mkdir(parents=True, exist_ok=True)
    name = model.name.removesuffix(".tar.gz")
    done = subprocess.run(
        [str(RASA_BIN), "train", "--fixed-model-name", name, "--out", str(RASA_MODELS.resolve())],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return model


@contextlib.contextmanager
def rasa_server(project: Path, tmp: Path, actions_url: str | None = None) -> Iterator[str]:
    model = rasa_model(project)
    port = free_port()
    (tmp / "credentials.yml").write_text("rest:\n")
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "{actions_url}"\n' if actions_url else "")
    log = tmp / "rasa.log"
    command = [str(RASA_BIN), "run", "--enable-api", "--model", str(model)]
    command += ["--endpoints", str(endpoints), "--credentials", str(tmp / "credentials.yml")]
    command += ["--interface", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=project,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/status", process, log)
        yield url
    finally:
        stop_process(process, grace=15)


@contextlib.contextmanager
def action_server(project: Path, tmp: Path) -> Iterator[str]:
    """The project's custom actions (its actions/ package) on a rasa-sdk action server."""
    port = free_port()
    log = tmp / "actions.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(RASA_BIN), "run", "actions", "--actions", "actions", "--port", str(port)],
            cwd=project,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(f"http://127.0.0.1:{port}/health", process, log)
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        stop_process(process, grace=15)


def rasa_expire(url: str, sender: str) -> None:
    """Make the conversation's events EXPIRY seconds older in Rasa's tracker store (Rasa
    starts a new session when the latest message is older than session_expiration_time)."""
    tracker = f"{url}/conversations/{sender}/tracker"
    events = httpx.get(tracker, params={"include_events": "ALL"}, timeout=30).json()["events"]
    for event in events:
        event["timestamp"] = float(event["timestamp"]) - EXPIRY
    httpx.put(f"{tracker}/events", json=events, timeout=30).raise_for_status()


def rasa_turn(url: str, sender: str, text: str) -> Reply:
    answer = httpx.post(
        f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60
    )
    answer.raise_for_status()
    texts = tuple(str(m["text"]) for m in answer.json() if "text" in m)
    extras = tuple(extra for m in answer.json() for extra in _rasa_extras(m))
    # Every event, not only those after the latest restart (the default).
    events: list[dict[str, Any]] = httpx.get(
        f"{url}/conversations/{sender}/tracker", params={"include_events": "ALL"}, timeout=30
    ).json()["events"]
    last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
    actions = tuple(
        str(e["name"])
        for e in events[last_user:]
        if e["event"] == "action" and e["name"] not in BOOKKEEPING
    )
    return Reply(texts, actions, extras)


class EmbeddedTwin:
    """The embedded engine, fed its history as the pipeline feeds it (stored intents, the
    slots each turn ended with and what the turn did to the tracker, and the actions that
    spoke)."""

    def __init__(self, project: Path, cache: Path, actions_url: str | None = None) -> None:
        model = load_or_train(project, cache)
        self.engine = EmbeddedInterpreter(project, cache, model, action_server_url=actions_url)
        self._history: dict[str, list[PastTurn]] = {}
        self._variations = Variations(model.project)
        # Seconds added to the clock: how long ago the conversations' messages now lie.
        self._offset = 0.0
        self.engine.conversations.clock = lambda: time.time() + self._offset

    def expire(self) -> None:
        """Every conversation's latest message is EXPIRY seconds older."""
        self._offset += EXPIRY

    async def turn(self, sender: str, text: str) -> Reply:
        history = self._history.setdefault(sender, [])
        interpretation = await self.engine.parse(text)
        said = await self.engine.respond(
            Dialogue(sender, interpretation, "en", tuple(history), channel=CHANNEL)
        )
        history.append(
            PastTurn(
                interpretation.full_intent,
                interpretation.entities,
                text=text,
                slots=said.slots,
                events=said.events,
            )
        )
        for message in said.messages:
            if not (history and history[-1].action == message.action):
                history.append(PastTurn(action=message.action))
        events = self.engine.conversations.events(sender)
        last_user = max(i for i, e in enumerate(events) if isinstance(e, UserUttered))
        actions = tuple(
            e.name
            for e in events[last_user:]
            if isinstance(e, ActionExecuted) and e.name not in BOOKKEEPING
        )
        # The default fallback forgets the message it did not understand (and says nothing
        # when the domain has no utter_default).
        if (said.messages and said.messages[-1].action == "action_default_fallback") or (
            not said.messages and events and isinstance(events[-1], MessageForgotten)
        ):
            actions = ("action_default_fallback",)
        # Rasa's channel sends no text for a message without one (an image alone).
        texts = tuple(m.text for m in said.messages if m.text)
        extras = tuple(extra for m in said.messages for extra in _bot_extras(m))
        return Reply(texts, actions, extras)

    def history(self, sender: str) -> tuple[PastTurn, ...]:
        return tuple(self._history.get(sender, ()))

    async def answers_as_rasa(self, rasa_url: str, texts: list[str]) -> None:
        """One new customer says ``texts`` to both engines: each turn's replies and actions
        must be the same."""
        sender = str(uuid.uuid4())
        for text in texts:
            if text == SESSION_EXPIRES:
                rasa_expire(rasa_url, sender)
                self.expire()
                continue
            expected = rasa_turn(rasa_url, sender, text)
            got = await self.turn(sender, text)
            assert self._variations.same(got, expected), (text, got, expected)


class Variations:
    """Which variation of a project's responses a text may be: Rasa says one of a response's
    suitable variations at random, and so does the embedded engine. Two replies are the same
    when their actions and what they show besides texts (buttons, custom payloads, images,
    compared as they are) are, and each text is the other's, or the two are different
    variations of one response that the same slot conditions and channel select (so a
    variation said under the wrong condition, or the same variation filled differently,
    still differs)."""

    def __init__(self, project: Project) -> None:
        self._patterns = [
            ((name, v.conditions, v.channel), index, re.compile(_pattern(v.text)))
            for name, variations in project.responses.items()
            for index, v in enumerate(variations)
            if v.text
        ]

    def _variations(self, text: str) -> set[tuple[tuple[object, ...], int]]:
        return {(kind, index) for kind, index, pattern in self._patterns if pattern.fullmatch(text)}

    def same(self, got: Reply, expected: Reply) -> bool:
        if got.actions != expected.actions or len(got.texts) != len(expected.texts):
            return False
        if got.extras != expected.extras:
            return False
        return all(
            a == b
            or any(
                kind == other and index != other_index
                for kind, index in self._variations(a)
                for other, other_index in self._variations(b)
            )
            for a, b in zip(got.texts, expected.texts, strict=True)
        )


def _pattern(template: str) -> str:
    """A response's text as a pattern: each {placeholder} any value."""
    parts = re.split(r"\{[^{}]+\}", template)
    return ".+?".join(re.escape(part) for part in parts)
