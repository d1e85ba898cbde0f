"""What the Bot area asks a Rasa server (issue 19), over Rasa 3's HTTP API (`rasa run
--enable-api`): train a model from the project files (``POST /model/train``), load it
(``PUT /model``) only when training succeeded, parse a sentence (``POST /model/parse``) and
ask what the dialogue would do next (``POST /conversations/{id}/messages`` then
``POST /conversations/{id}/predict``).

Rasa's training endpoint takes one YAML document holding the config, the domain and the
training data; ``project_document`` merges the project's files into it, as Rasa's own
``rasa train`` reads them. The endpoint answers only when training ends (it says nothing on
the way), so the job's steps are the time it has been training.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from nlu.project import project_files
from nlu.rasa import interpretation_from_parse
from nlu.sources import ProjectError, read_yaml

# Training takes minutes on two cores (DESIGN.md's figures: 3 to 27 minutes).
TRAIN_TIMEOUT = 3600.0
QUICK_TIMEOUT = 10.0
# The domain's and data's keys a merged document concatenates (lists) or joins (mappings).
LIST_KEYS = ("intents", "entities", "actions", "nlu", "stories", "rules", "e2e_actions")
MAP_KEYS = ("slots", "responses", "forms", "session_config")
CONFIG_KEYS = ("recipe", "language", "pipeline", "policies", "assistant_id")


class RasaError(Exception):
    """Rasa refused or failed: its status (None: not reached) and message, never the token."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class NextAction:
    action: str
    confidence: float
    policy: str | None


def project_document(root: Path) -> str:
    """The project's config, domain and data as the one YAML document /model/train reads."""
    merged: dict[str, Any] = {"version": "3.1"}
    for path in project_files(root):
        if not path.is_file():
            continue
        document = read_yaml(path)  # a broken file fails here, with its file and line
        if document is None:
            continue
        if not isinstance(document, dict):
            raise ProjectError(path, 1, "expected a mapping at the top of the file")
        for key, value in document.items():
            if value is None or key == "version":
                continue
            plain = _plain(value)
            if key in LIST_KEYS and isinstance(plain, list):
                merged.setdefault(key, []).extend(plain)
            elif key in MAP_KEYS and isinstance(plain, dict):
                merged.setdefault(key, {}).update(plain)
            elif key in CONFIG_KEYS or key not in merged:
                merged[key] = plain
    return yaml.safe_dump(merged, allow_unicode=True, sort_keys=False)


def _plain(value: Any) -> Any:
    """The line-remembering mappings of nlu.sources as plain dicts, for the YAML dumper."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class RasaStudio:
    """A Rasa server's model API."""

    def __init__(
        self, url: str, token: str | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._params = {"token": token} if token else {}
        self._client = httpx.AsyncClient(base_url=self.url, transport=transport)

    async def train(self, document: str) -> str:
        """Train a model on Rasa from ``document``; the model's file name in Rasa's models
        folder (where ``load`` finds it)."""
        response = await self._call(
            "POST",
            "/model/train",
            TRAIN_TIMEOUT,
            content=document.encode(),
            headers={"content-type": "application/x-yaml"},
            params={"save_to_default_model_directory": "true", "force_training": "false"},
        )
        name = response.headers.get("filename")
        if not name:
            raise RasaError("Rasa trained but named no model file")
        return str(name)

    async def load(self, filename: str) -> None:
        """Serve the model from Rasa's models folder (the one ``train`` saved)."""
        await self._call("PUT", "/model", TRAIN_TIMEOUT, json={"model_file": f"models/{filename}"})

    async def status(self) -> dict[str, Any]:
        response = await self._call("GET", "/status", QUICK_TIMEOUT)
        data = response.json()
        return data if isinstance(data, dict) else {}

    async def parse(self, text: str) -> dict[str, Any]:
        response = await self._call("POST", "/model/parse", QUICK_TIMEOUT, json={"text": text})
        data = response.json()
        if not isinstance(data, dict):
            raise RasaError("Rasa's /model/parse answered something other than an object")
        interpretation_from_parse(text, data)  # the shape the messaging server relies on
        return data

    async def predict(self, text: str) -> list[NextAction]:
        """The actions Rasa would consider after ``text`` opened a conversation, best first
        (a conversation of its own, ``studio-…``, left in Rasa's tracker store)."""
        sender = f"studio-{uuid.uuid4().hex[:12]}"
        await self._call(
            "POST",
            f"/conversations/{sender}/messages",
            QUICK_TIMEOUT,
            json={"text": text, "sender": "user"},
        )
        response = await self._call("POST", f"/conversations/{sender}/predict", QUICK_TIMEOUT)
        data = response.json()
        policy = data.get("policy") if isinstance(data, dict) else None
        scores = data.get("scores") if isinstance(data, dict) else None
        ranked = sorted(
            (s for s in scores or [] if isinstance(s, dict) and s.get("score")),
            key=lambda s: float(s["score"]),
            reverse=True,
        )
        return [
            NextAction(
                str(s["action"]), round(float(s["score"]), 4), str(policy) if policy else None
            )
            for s in ranked[:3]
        ]

    async def _call(self, method: str, path: str, limit: float, **kwargs: Any) -> httpx.Response:
        params = {**kwargs.pop("params", {}), **self._params}
        try:
            response = await self._client.request(
                method, path, params=params, timeout=limit, **kwargs
            )
        except httpx.HTTPError as error:
            raise RasaError(f"{path}: {type(error).__name__}: {self._hidden(str(error))}") from None
        if response.status_code >= 400:
            raise RasaError(
                f"{path}: Rasa answered {response.status_code}: {self._said(response)}",
                response.status_code,
            )
        return response

    def _said(self, response: httpx.Response) -> str:
        try:
            data = response.json()
        except ValueError:
            return self._hidden(response.text[:500])
        message = data.get("message") if isinstance(data, dict) else None
        return self._hidden(str(message or data)[:500])

    def _hidden(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    async def close(self) -> None:
        await self._client.aclose()
