"""Duckling entities (dates, amounts, distances, emails...) for a project whose pipeline has
Rasa's DucklingEntityExtractor, from the Duckling server at ``SWITCHBOARD_DUCKLING_URL``,
asked as Rasa asks it (a form POST to /parse with the text, locale, dimensions, time zone
and reference time) and read as Rasa reads it. Duckling unreachable: no Duckling entities
(logged), as in Rasa; the rest of the interpretation stands.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import httpx
import orjson
import structlog

from nlu.base import Entity, Interpretation
from nlu.project import Project

log = structlog.get_logger(__name__)

EXTRACTOR = "DucklingEntityExtractor"
# Rasa's default timeout for Duckling.
TIMEOUT = 3.0


class Duckling:
    """A client of a Duckling server, configured by the project's component options."""

    def __init__(self, url: str, options: dict[str, Any], client: httpx.AsyncClient) -> None:
        self._url = url.rstrip("/") + "/parse"
        self._dimensions: list[str] | None = options.get("dimensions")
        self._locale: str | None = options.get("locale")
        self._timezone: str | None = options.get("timezone")
        self._client = client

    @classmethod
    def for_project(cls, url: str | None, project: Project) -> Duckling | None:
        """A client when the project asks for Duckling and a server is configured."""
        options = project.component(EXTRACTOR)
        if not url or not options:
            return None
        timeout = float(options.get("timeout") or TIMEOUT)
        return cls(url, options, httpx.AsyncClient(timeout=timeout))

    async def add_to(self, interpretation: Interpretation) -> Interpretation:
        found = await self.entities(interpretation.text)
        if not found:
            return interpretation
        entities = sorted((*interpretation.entities, *found), key=lambda e: (e.start, e.end))
        return dataclasses.replace(interpretation, entities=tuple(entities))

    async def entities(self, text: str) -> tuple[Entity, ...]:
        form: dict[str, str] = {"text": text, "reftime": str(int(time.time()) * 1000)}
        if self._locale:
            form["locale"] = self._locale
        if self._timezone:
            form["tz"] = self._timezone
        if self._dimensions:
            form["dims"] = orjson.dumps(self._dimensions).decode()
        try:
            answer = await self._client.post(self._url, data=form)
            answer.raise_for_status()
            matches = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            log.warning("duckling did not answer; no duckling entities", error=str(error))
            return ()
        if not isinstance(matches, list):
            log.warning("duckling's answer is not a list; no duckling entities")
            return ()
        return tuple(
            Entity(
                str(m["dim"]),
                _value(m),
                int(m["start"]),
                int(m["end"]),
                str(m.get("body") or ""),
                EXTRACTOR,
            )
            for m in matches
            if isinstance(m, dict)
            and isinstance(m.get("value"), dict)
            and (not self._dimensions or m.get("dim") in self._dimensions)
        )

    async def close(self) -> None:
        await self._client.aclose()


def _value(match: dict[str, Any]) -> str:
    """The entity's value as Rasa takes it: the value, or an interval's from and to."""
    value = match["value"]
    if value.get("type") == "interval":
        interval = {
            "to": (value.get("to") or {}).get("value"),
            "from": (value.get("from") or {}).get("value"),
        }
        return orjson.dumps(interval).decode()
    found = value.get("value")
    return found if isinstance(found, str) else orjson.dumps(found).decode()
