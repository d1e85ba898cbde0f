"""The bot studio's API (issue 19): a designer adds an intent with examples in two languages
and a response, each save a version with its author, message and diff; a broken edit is
refused with file and line and nothing is written; a rollback is a new version; agents get
403; bad input a precise 4xx; every save is in the audit log."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from server.services import demo
from tests import harness
from tests.web_console.brands import person, signed_in

FAQ = Path(__file__).resolve().parents[1] / "nlu" / "projects" / "faq"


@pytest.fixture(scope="module")
def nlu_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-cache")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "faq"
    shutil.copytree(FAQ, root)
    return root


@pytest.fixture
async def studio(
    dsn: str, tmp_path: Path, nlu_cache: Path, project: Path
) -> AsyncIterator[harness.RunningServer]:
    settings = harness.settings_for(
        dsn, tmp_path, nlu_engine="embedded", nlu_project=project, nlu_cache_dir=nlu_cache
    )
    async with harness.run_server(settings) as running:
        yield running


@pytest.fixture
async def clients() -> AsyncIterator[list[httpx.AsyncClient]]:
    """The signed-in clients a test opens, closed after it (an open socket fails the run)."""
    opened: list[httpx.AsyncClient] = []
    yield opened
    for client in opened:
        await client.aclose()


async def _as(
    studio: harness.RunningServer, clients: list[httpx.AsyncClient], email: str
) -> httpx.AsyncClient:
    client = await signed_in(studio, email)
    clients.append(client)
    return client


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.yml")}


async def test_a_designer_edits_the_project_and_every_save_is_a_version(
    studio: harness.RunningServer, project: Path, clients: list[httpx.AsyncClient]
) -> None:
    email = await person(studio, demo.BRAND_SLUG, "designer")
    designer = await _as(studio, clients, email)
    before = _snapshot(project)
    added = await designer.post(
        "/console/api/bot/intents",
        json={
            "name": "ask_weather",
            "message": "weather questions",
            "examples": [
                {
                    "text": "what is the weather in Paris",
                    "entities": [{"start": 23, "end": 28, "entity": "city"}],
                },
                {
                    "text": "quel temps fait-il à Lyon",
                    "entities": [{"start": 21, "end": 25, "entity": "city", "role": "destination"}],
                },
            ],
        },
    )
    assert added.status_code == 201, added.text
    first = added.json()
    assert first["version"]["message"] == "weather questions"
    assert first["version"]["author"] == f"designer of {demo.BRAND_SLUG}"
    assert first["version"]["paths"] == ["data/nlu.yml", "domain.yml"]
    diff = "".join(f["diff"] for f in first["files"])
    assert "+    - what is the weather in [Paris](city)\n" in diff
    assert '+    - quel temps fait-il à [Lyon]{"entity": "city", "role": "destination"}\n' in diff
    assert "+  - ask_weather\n" in diff
    # The files on disk are the truth, and the Bot area reads them at once.
    assert "[Paris](city)" in (project / "data" / "nlu.yml").read_text()
    shown = (await designer.get("/console/api/bot/intents/ask_weather")).json()
    assert [e["text"] for e in shown["examples"]] == [
        "what is the weather in Paris",
        "quel temps fait-il à Lyon",
    ]
    assert "city" in (await designer.get("/console/api/bot/lexicon")).json()["entities"]

    answer = await designer.put(
        "/console/api/bot/responses/utter_weather",
        json={
            "variations": [
                {"text": "It is sunny.", "buttons": [{"title": "Thanks", "payload": "/thank"}]},
                {"text": "Il fait beau.", "language": "fr"},
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    responses = {
        r["name"]: r for r in (await designer.get("/console/api/bot/responses")).json()["responses"]
    }
    assert [v["language"] for v in responses["utter_weather"]["variations"]][1] == "fr"

    listed = (await designer.get("/console/api/bot/versions")).json()["versions"]
    assert [v["id"] for v in listed] == [answer.json()["version"]["id"], first["version"]["id"]]
    one = (await designer.get(f"/console/api/bot/versions/{first['version']['id']}")).json()
    assert one["files"] == first["files"]

    # A broken edit (YAML that does not parse): refused with file and line, nothing written.
    domain = (await designer.get("/console/api/bot/files/domain.yml")).json()["text"]
    now = _snapshot(project)
    broken = await designer.put(
        "/console/api/bot/files/domain.yml",
        json={"text": domain + "responses: [oops\n", "message": "oops"},
    )
    assert broken.status_code == 422, broken.text
    refused = broken.json()
    assert refused["path"] == "domain.yml"
    assert refused["line"] is not None
    assert refused["line"] > domain.count("\n")
    assert _snapshot(project) == now
    assert len((await designer.get("/console/api/bot/versions")).json()["versions"]) == 2
    assert (await designer.get("/console/api/bot")).json()["kind"] == "embedded"

    # Rolling back to before the response: a new version, the response gone again.
    back = await designer.post(f"/console/api/bot/versions/{first['version']['id']}/rollback")
    assert back.status_code == 201, back.text
    assert back.json()["version"]["restores"] == first["version"]["id"]
    assert "utter_weather" not in (project / "domain.yml").read_text()
    # Rolling back to the very first state needs the first version's "before": the files
    # are byte for byte as they were.
    listed = (await designer.get("/console/api/bot/versions")).json()["versions"]
    assert len(listed) == 3
    async with studio.services.pool.acquire() as conn:
        logged = await conn.fetch(
            "SELECT actor_label, target_id FROM audit_log WHERE action = 'bot.project_saved'"
        )
    assert len(logged) == 3
    assert {r["actor_label"] for r in logged} == {email}
    assert _snapshot(project) != before


async def test_bad_edits_are_precise_refusals_and_agents_are_kept_out(
    studio: harness.RunningServer, project: Path, clients: list[httpx.AsyncClient]
) -> None:
    designer = await _as(studio, clients, await person(studio, demo.BRAND_SLUG, "designer"))
    agent = await _as(studio, clients, await person(studio, demo.BRAND_SLUG, "agent"))
    before = _snapshot(project)
    rule_step = {"kind": "intent", "name": "greet"}
    cases = [
        ("POST", "/console/api/bot/intents", {"name": "greet"}, 409),
        ("POST", "/console/api/bot/intents", {"name": "two words"}, 422),
        (
            "POST",
            "/console/api/bot/intents",
            {
                "name": "x",
                "examples": [{"text": "hi", "entities": [{"start": 1, "end": 9, "entity": "e"}]}],
            },
            400,
        ),
        ("POST", "/console/api/bot/examples", {"intent": "nope", "examples": [{"text": "a"}]}, 404),
        (
            "POST",
            "/console/api/bot/examples",
            {"intent": "greet", "examples": [{"text": "hi"}]},
            409,
        ),
        (
            "PUT",
            "/console/api/bot/examples",
            {"intent": "greet", "old": "never", "example": {"text": "b"}},
            404,
        ),
        ("DELETE", "/console/api/bot/examples", {"intent": "greet", "old": "never"}, 404),
        ("PUT", "/console/api/bot/lists/colour", {"name": "x", "values": ["a"]}, 404),
        ("PUT", "/console/api/bot/lists/regex", {"name": "zip", "values": ["(open"]}, 400),
        ("PUT", "/console/api/bot/lists/lookup", {"name": "none", "values": []}, 404),
        ("PUT", "/console/api/bot/responses/greeting", {"variations": [{"text": "hi"}]}, 400),
        ("PUT", "/console/api/bot/responses/utter_x", {"variations": [{"text": " "}]}, 400),
        ("DELETE", "/console/api/bot/responses/utter_never", None, 404),
        ("GET", "/console/api/bot/versions/999999", None, 404),
        ("POST", "/console/api/bot/versions/999999/rollback", None, 404),
        ("GET", "/console/api/bot/versions?before=abc", None, 400),
        ("GET", "/console/api/bot/files/actions/actions.py", None, 404),
        ("PUT", "/console/api/bot/files/config.yml", {"text": "\x00"}, 422),
        (
            "PUT",
            "/console/api/bot/flows",
            {"kind": "rule", "name": "x", "original": "no such rule", "steps": [rule_step]},
            404,
        ),
        (
            "PUT",
            "/console/api/bot/flows",
            {"kind": "rule", "name": "greet", "steps": [rule_step]},
            409,
        ),
        ("PUT", "/console/api/bot/flows", {"kind": "plan", "name": "x", "steps": [rule_step]}, 422),
        ("DELETE", "/console/api/bot/flows", {"kind": "story", "name": "never told"}, 404),
    ]
    for method, path, body, status in cases:
        got = await designer.request(method, path, json=body)
        assert got.status_code == status, (method, path, got.status_code, got.text)
        assert "error" in got.json()
        forbidden = await agent.request(method, path, json=body)
        assert forbidden.status_code == 403, (method, path, forbidden.text)
    assert _snapshot(project) == before
    assert (await designer.get("/console/api/bot/versions")).json()["versions"] == []


async def test_the_studio_routes_are_in_openapi(
    studio: harness.RunningServer, clients: list[httpx.AsyncClient]
) -> None:
    designer = await _as(studio, clients, await person(studio, demo.BRAND_SLUG, "designer"))
    documented = (await designer.get("/openapi.json")).json()["paths"]
    for path in (
        "/console/api/bot/intents",
        "/console/api/bot/examples",
        "/console/api/bot/versions",
        "/console/api/bot/versions/{version_id}/rollback",
        "/console/api/bot/files/{path}",
    ):
        assert path in documented, path
        assert all(op.get("summary") for op in documented[path].values()), path


async def test_a_rule_is_written_and_removed_as_steps(
    studio: harness.RunningServer, project: Path, clients: list[httpx.AsyncClient]
) -> None:
    designer = await _as(studio, clients, await person(studio, demo.BRAND_SLUG, "designer"))
    steps = [{"kind": "intent", "name": "thank"}, {"kind": "action", "name": "utter_goodbye"}]
    written = await designer.put(
        "/console/api/bot/flows", json={"kind": "rule", "name": "thanks then bye", "steps": steps}
    )
    assert written.status_code == 200, written.text
    assert written.json()["version"]["paths"] == ["data/rules.yml"]
    flows = (await designer.get("/console/api/bot/flows")).json()["flows"]
    [rule] = [f for f in flows if f["name"] == "thanks then bye"]
    assert [(s["kind"], s["name"]) for s in rule["steps"]] == [
        ("intent", "thank"),
        ("action", "utter_goodbye"),
    ]
    gone = await designer.request(
        "DELETE", "/console/api/bot/flows", json={"kind": "rule", "name": "thanks then bye"}
    )
    assert gone.status_code == 200, gone.text
    assert (project / "data" / "rules.yml").read_bytes() == (
        FAQ / "data" / "rules.yml"
    ).read_bytes()


async def test_files_broken_outside_the_console_are_named_and_mended_in_the_yaml_view(
    studio: harness.RunningServer, project: Path, clients: list[httpx.AsyncClient]
) -> None:
    designer = await _as(studio, clients, await person(studio, demo.BRAND_SLUG, "designer"))
    domain = project / "domain.yml"
    good = domain.read_text()
    domain.write_text(good + "responses: [oops\n")
    refused = await designer.put(
        "/console/api/bot/responses/utter_x", json={"variations": [{"text": "x"}]}
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["path"] == "domain.yml"
    mended = await designer.put("/console/api/bot/files/domain.yml", json={"text": good})
    assert mended.status_code == 200, mended.text
    assert domain.read_text() == good
