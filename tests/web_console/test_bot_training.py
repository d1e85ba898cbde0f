"""The Bot area's "Train and test" API (issue 19): a designer validates the project files,
trains the embedded engine while following its steps as server-sent events, tries a sentence
and evaluates per intent; a broken edit is refused with file, line and reason while the last
good model keeps answering; bad input is a precise 4xx; agents get 403."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from server.services import demo
from tests import harness
from tests.web_console.brands import person, signed_in

MOODBOT = Path(__file__).parents[1] / "nlu" / "data" / "moodbot"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "moodbot"
    shutil.copytree(MOODBOT, copy)
    return copy


@pytest.fixture
async def bot_server(
    dsn: str, tmp_path: Path, project: Path
) -> AsyncIterator[harness.RunningServer]:
    settings = harness.settings_for(
        dsn,
        tmp_path,
        nlu_engine="embedded",
        nlu_project=project,
        nlu_cache_dir=tmp_path / "nlu-cache",
    )
    async with harness.run_server(settings) as running:
        yield running


OPEN: list[httpx.AsyncClient] = []


@pytest.fixture(autouse=True)
async def closed_clients() -> AsyncIterator[None]:
    """Every signed-in client a test opens is closed after it (no socket left to the GC)."""
    yield
    while OPEN:
        await OPEN.pop().aclose()


async def user(server: harness.RunningServer, role: str) -> httpx.AsyncClient:
    http = await signed_in(server, await person(server, demo.BRAND_SLUG, role))
    OPEN.append(http)
    return http


async def designer_of(server: harness.RunningServer) -> httpx.AsyncClient:
    return await user(server, "designer")


async def events_of(http: httpx.AsyncClient, job_id: str) -> list[tuple[str, Any]]:
    """The job's server-sent events until its end event: (event name, data)."""
    seen: list[tuple[str, Any]] = []
    async with http.stream(
        "GET", f"/console/api/bot/jobs/{job_id}/events", timeout=600
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name, data = "", b""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ").encode()
            elif line == "" and name:
                seen.append((name, orjson.loads(data)))
                if name == "end":
                    break
                name = ""
    return seen


async def test_a_designer_validates_trains_with_progress_and_tries_a_sentence(
    bot_server: harness.RunningServer, project: Path
) -> None:
    designer = await designer_of(bot_server)
    checked = (await designer.post("/console/api/bot/validate")).json()
    assert checked["ok"] is True
    assert checked["errors"] == []
    assert checked["intents"] == 7
    assert checked["examples"] > 50
    # Rasa's own validation is not faked: it needs the Rasa CLI, and Rasa is not configured.
    assert checked["rasa"]["available"] is False
    assert "not configured" in checked["rasa"]["reason"]

    # A new intent saved to the files: training picks it up, step by step.
    nlu = project / "data" / "nlu.yml"
    nlu.write_text(
        nlu.read_text() + "\n- intent: ask_weather\n  examples: |\n    - what is the weather like\n"
        "    - will it rain today\n    - is it sunny outside\n    - weather forecast please\n"
        "    - how cold is it today\n"
    )
    started = await designer.post("/console/api/bot/train", json={"engine": "embedded"})
    assert started.status_code == 202, started.text
    job = started.json()
    assert (job["kind"], job["engine"], job["state"]) == ("train", "embedded", "running")
    events = await events_of(designer, job["id"])
    steps = [data["step"] for name, data in events if name == "step"]
    assert "training: intents" in steps
    assert "serving the new model" in steps
    name, final = events[-1]
    assert name == "end"
    assert final["state"] == "done", final
    assert final["result"]["changed"] is True
    assert final["result"]["intents"] == 8

    tried = await designer.post("/console/api/bot/test", json={"text": "will it rain today?"})
    embedded, rasa = tried.json()["engines"]
    assert embedded["intent"] == "ask_weather"
    assert embedded["ranking"][0]["intent"] == "ask_weather"
    assert rasa == {**rasa, "engine": "rasa", "available": False}
    hello = (await designer.post("/console/api/bot/test", json={"text": "hello there"})).json()
    greet = hello["engines"][0]
    assert greet["intent"] == "greet"
    # What would follow: moodbot's story greets back, then asks how they are.
    assert greet["next"][0]["action"] == "utter_greet"
    assert greet["next"][0]["says"] == "Hey! How are you?"
    assert any("story" in f for f in greet["next"][0]["flows"])

    # Audited with its author.
    async with bot_server.services.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT actor_label, detail FROM audit_log WHERE action = 'bot.trained'"
        )
    assert row is not None
    assert row["actor_label"].startswith("designer-")
    listed = (await designer.get("/console/api/bot/jobs")).json()["jobs"]
    assert listed[0]["id"] == job["id"]


async def test_a_broken_edit_is_refused_with_file_and_line_and_the_bot_keeps_answering(
    bot_server: harness.RunningServer, project: Path
) -> None:
    designer = await designer_of(bot_server)
    nlu = project / "data" / "nlu.yml"
    lines = nlu.read_text().splitlines()
    # Line 5 becomes an unclosed quote inside the greet examples' block: invalid YAML.
    broken = [*lines[:3], "  examples: |", '    - "hello', "  oops: [", *lines[5:]]
    nlu.write_text("\n".join(broken) + "\n")
    checked = (await designer.post("/console/api/bot/validate")).json()
    assert checked["ok"] is False
    [error] = checked["errors"]
    assert error["path"] == "data/nlu.yml"
    assert isinstance(error["line"], int)
    assert "YAML" in error["message"]

    job = (await designer.post("/console/api/bot/train", json={})).json()
    events = await events_of(designer, job["id"])
    _name, final = events[-1]
    assert final["state"] == "refused"
    assert (final["path"], final["line"]) == ("data/nlu.yml", error["line"])
    assert final["reason"] == error["message"]
    # The last good model still answers, and the Bot area says why the edit was refused.
    tried = (await designer.post("/console/api/bot/test", json={"text": "hello"})).json()
    assert tried["engines"][0]["intent"] == "greet"
    state = (await designer.get("/console/api/bot")).json()
    assert "data/nlu.yml" in state["error"]


async def test_evaluate_cross_validates_per_intent_in_the_background(
    bot_server: harness.RunningServer,
) -> None:
    designer = await designer_of(bot_server)
    started = await designer.post("/console/api/bot/evaluate", json={"folds": 3})
    assert started.status_code == 202, started.text
    events = await events_of(designer, started.json()["id"])
    folds = [d for n, d in events if n == "step" and d["total"] == 3]
    assert [d["done"] for d in folds][-1] == 3
    final = events[-1][1]
    assert final["state"] == "done", final
    report = final["result"]
    rows = {r["intent"]: r for r in report["intents"]}
    assert set(rows) >= {"greet", "goodbye", "mood_great", "mood_unhappy"}
    assert all(0.0 <= r["f1"] <= 1.0 and r["support"] > 0 for r in rows.values())
    assert report["method"] == "3-fold cross-validation"
    for example in report["examples_confused"]:
        assert example["intent"] != example["predicted"]
        assert example["text"]


async def test_intents_smaller_than_the_folds_are_evaluated_and_named(
    bot_server: harness.RunningServer,
) -> None:
    """Ten folds over moodbot: deny, affirm and bot_challenge have fewer examples. As rasa
    test nlu does, they are judged and the report names them (the studio refused the whole
    project)."""
    designer = await designer_of(bot_server)
    started = await designer.post("/console/api/bot/evaluate", json={"folds": 10})
    assert started.status_code == 202, started.text
    final = (await events_of(designer, started.json()["id"]))[-1][1]
    assert final["state"] == "done", final
    [note] = final["result"]["notes"]
    assert "3 intents have fewer than 10 examples (affirm, bot_challenge, deny)" in note


async def test_bad_input_is_a_precise_4xx_and_agents_are_refused(
    bot_server: harness.RunningServer,
) -> None:
    designer = await designer_of(bot_server)
    cases = [
        ("/console/api/bot/train", {"engine": "dialogflow"}, 422, "engine"),
        ("/console/api/bot/train", {"engine": "rasa"}, 422, "not configured"),
        ("/console/api/bot/train", {"engine": "embedded", "x": 1}, 422, "x"),
        ("/console/api/bot/evaluate", {"folds": 1}, 422, "folds"),
        ("/console/api/bot/evaluate", {"folds": "many"}, 422, "folds"),
        ("/console/api/bot/test", {"text": ""}, 422, "text"),
        ("/console/api/bot/test", {"text": "a" * 1001}, 422, "text"),
        ("/console/api/bot/test", {"text": "nul\x00"}, 422, "NUL"),
    ]
    for path, body, status, said in cases:
        response = await designer.post(path, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert said in response.json()["error"], response.text
    garbled = await designer.post("/console/api/bot/test", content=b"{not json")
    assert garbled.status_code == 400
    for path in ("/console/api/bot/jobs/nope", "/console/api/bot/jobs/" + "0" * 32 + "/events"):
        missing = await designer.get(path)
        assert missing.status_code == 404
        assert "no job" in missing.json()["error"]

    agent = await user(bot_server, "agent")
    for method, path in (
        ("POST", "/console/api/bot/validate"),
        ("POST", "/console/api/bot/train"),
        ("POST", "/console/api/bot/evaluate"),
        ("POST", "/console/api/bot/test"),
        ("GET", "/console/api/bot/jobs"),
    ):
        refused = await agent.request(method, path, json={"text": "hello"})
        assert refused.status_code == 403, (path, refused.text)
    spec = (await designer.get("/openapi.json")).json()["paths"]
    for path in ("/validate", "/train", "/test", "/evaluate", "/jobs/{id}/events"):
        assert f"/console/api/bot{path}" in spec
