"""Duckling entities when SWITCHBOARD_DUCKLING_URL is set, asked and read as Rasa's
DucklingEntityExtractor does; against a local stand-in answering with Duckling's documented
JSON (Duckling itself is neither on PyPI nor in Debian)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nlu.embedded import EmbeddedInterpreter, load_or_train
from tests.harness import ROOT, serving

MOODBOT = ROOT / "tests" / "nlu" / "data" / "moodbot"
# Duckling's answer to "tomorrow at 3pm, 20 euros" (shapes from its README's /parse example).
MATCHES = [
    {
        "body": "tomorrow at 3pm",
        "start": 0,
        "end": 15,
        "dim": "time",
        "latent": False,
        "value": {"value": "2026-12-04T15:00:00.000-08:00", "grain": "hour", "type": "value"},
    },
    {
        "body": "20 euros",
        "start": 17,
        "end": 25,
        "dim": "amount-of-money",
        "latent": False,
        "value": {"value": 20, "unit": "EUR", "type": "value"},
    },
]


def duckling(asked: list[dict[str, str]]) -> Starlette:
    async def parse(request: Request) -> JSONResponse:
        asked.append({k: str(v) for k, v in (await request.form()).items()})
        return JSONResponse(MATCHES)

    return Starlette(routes=[Route("/parse", parse, methods=["POST"])])


def project_with_duckling(tmp_path: Path) -> Path:
    project = tmp_path / "bot"
    shutil.copytree(MOODBOT, project)
    config = project / "config.yml"
    config.write_text(
        config.read_text().replace(
            "pipeline:\n",
            "pipeline:\n  - name: DucklingEntityExtractor\n    dimensions: [time]\n"
            "    locale: en_GB\n    timezone: Europe/London\n",
        )
    )
    return project


async def test_duckling_entities_join_the_interpretation(tmp_path: Path) -> None:
    project = project_with_duckling(tmp_path)
    asked: list[dict[str, str]] = []
    async with serving(duckling(asked)) as url:
        engine = EmbeddedInterpreter(
            project, tmp_path, load_or_train(project, tmp_path), duckling_url=url
        )
        parsed = await engine.parse("tomorrow at 3pm, 20 euros")
        state = engine.state()
        await engine.close()
    # Only the configured dimensions, as Rasa filters them.
    assert [(e.entity, e.value, e.start, e.end, e.extractor) for e in parsed.entities] == [
        ("time", "2026-12-04T15:00:00.000-08:00", 0, 15, "DucklingEntityExtractor")
    ]
    [form] = asked
    assert form["text"] == "tomorrow at 3pm, 20 euros"
    assert (form["locale"], form["tz"], json.loads(form["dims"])) == (
        "en_GB",
        "Europe/London",
        ["time"],
    )
    assert not any("Duckling" in note for note in state["unsupported"])


async def test_without_a_duckling_server_the_extractor_is_named(tmp_path: Path) -> None:
    project = project_with_duckling(tmp_path)
    engine = EmbeddedInterpreter(project, tmp_path, load_or_train(project, tmp_path))
    assert (await engine.parse("tomorrow at 3pm")).entities == ()
    [note] = [n for n in engine.state()["unsupported"] if "Duckling" in n]
    assert note.startswith("config.yml:7: component DucklingEntityExtractor: no Duckling")


async def test_an_unreachable_duckling_leaves_the_rest_of_the_interpretation(
    tmp_path: Path,
) -> None:
    project = project_with_duckling(tmp_path)
    async with serving(duckling([])) as url:
        pass  # the server is gone: nothing listens there any more
    engine = EmbeddedInterpreter(
        project, tmp_path, load_or_train(project, tmp_path), duckling_url=url
    )
    parsed = await engine.parse("hello")
    await engine.close()
    assert (parsed.intent, parsed.entities) == ("greet", ())
