"""Training on Rasa from the console (issue 19), its protocol checked against a local impostor
of Rasa 3.6's HTTP API fed with the shapes rasa/server.py answers with: the project's files go
to POST /model/train as one YAML document, and PUT /model loads the trained file only when
training succeeded; a refused or failed training never touches the served model. (A real
Rasa 3.6.21 trains for minutes on these two cores; tests/server/services/test_rasa_training.py
runs the real one when its virtualenv is installed.)"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest
import yaml

from server.services.bot_training import BotTraining, TrainingSetup
from server.services.rasa_studio import RasaError, RasaStudio, project_document
from web_console.port import Agent

MOODBOT = Path(__file__).parents[2] / "nlu" / "data" / "moodbot"
DESIGNER = Agent("d1", "designer@example.test", "Designer")


class Impostor:
    """Rasa's /model/train, /model, /model/parse and /conversations/... as rasa/server.py
    answers them; ``train_status`` makes training fail (400 as for an invalid domain)."""

    def __init__(self, train_status: int = 200) -> None:
        self.train_status = train_status
        self.calls: list[tuple[str, str]] = []
        self.trained: str = ""
        self.loaded: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        assert request.url.params.get("token") == "secret"
        if request.url.path == "/model/train":
            self.trained = request.content.decode()
            if self.train_status != 200:
                return httpx.Response(
                    self.train_status,
                    json={
                        "version": "3.6.21",
                        "status": "failure",
                        "message": "Provided domain file is invalid. Error: bad",
                        "reason": "InvalidDomainError",
                        "code": self.train_status,
                    },
                )
            return httpx.Response(
                200,
                content=b"\x1f\x8b model",
                headers={"filename": "20261204-120000-brisk-fjord.tar.gz"},
            )
        if request.url.path == "/model" and request.method == "PUT":
            self.loaded.append(httpx.Response(200, content=request.content).json()["model_file"])
            return httpx.Response(204)
        if request.url.path == "/model/parse":
            return httpx.Response(
                200,
                json={
                    "text": "hello",
                    "intent": {"name": "greet", "confidence": 0.93},
                    "intent_ranking": [
                        {"name": "greet", "confidence": 0.93},
                        {"name": "goodbye", "confidence": 0.04},
                    ],
                    "entities": [],
                },
            )
        if request.url.path.endswith("/messages"):
            return httpx.Response(200, json={"sender_id": "x", "events": []})
        if request.url.path.endswith("/predict"):
            return httpx.Response(
                200,
                json={
                    "scores": [
                        {"action": "utter_greet", "score": 0.98},
                        {"action": "action_listen", "score": 0.01},
                        {"action": "utter_goodbye", "score": 0.0},
                    ],
                    "policy": "MemoizationPolicy",
                    "confidence": 0.98,
                    "tracker": {},
                },
            )
        return httpx.Response(404, json={"message": "not here"})


def training(tmp_path: Path, impostor: Impostor, project: Path = MOODBOT) -> BotTraining:
    rasa = RasaStudio(
        "http://rasa.test", token="secret", transport=httpx.MockTransport(impostor.handler)
    )
    setup = TrainingSetup(project, tmp_path / "cache", rasa_url="http://rasa.test")
    return BotTraining(None, None, setup, rasa=rasa)


async def finished(trainer: BotTraining, job_id: str) -> dict[str, object]:
    job = trainer.jobs.get(job_id)
    assert job is not None
    async for _ in job.follow():
        pass
    return dict(job.view())


def test_the_project_goes_to_rasa_as_one_document_with_config_domain_and_data() -> None:
    document = yaml.safe_load(project_document(MOODBOT))
    assert document["recipe"] == "default.v1"
    assert document["language"] == "en"
    assert "greet" in document["intents"]
    assert "utter_greet" in document["responses"]
    assert {"nlu", "stories", "rules"} <= set(document)
    assert any(item.get("intent") == "mood_great" for item in document["nlu"])


async def test_rasa_trains_then_loads_the_new_model(tmp_path: Path) -> None:
    impostor = Impostor()
    trainer = training(tmp_path, impostor)
    job = await trainer.train(DESIGNER, "rasa")
    final = await finished(trainer, job["id"])
    assert final["state"] == "done", final
    assert impostor.calls == [("POST", "/model/train"), ("PUT", "/model")]
    assert impostor.loaded == ["models/20261204-120000-brisk-fjord.tar.gz"]
    assert "mood_unhappy" in impostor.trained
    await trainer.close()


async def test_a_refused_training_never_replaces_the_served_model(tmp_path: Path) -> None:
    impostor = Impostor(train_status=400)
    trainer = training(tmp_path, impostor)
    final = await finished(trainer, (await trainer.train(DESIGNER, "rasa"))["id"])
    assert final["state"] == "refused"
    assert "Rasa answered 400" in str(final["reason"])
    assert "keeps serving" in str(final["reason"])
    assert impostor.loaded == []  # no PUT /model
    await trainer.close()


async def test_a_broken_file_is_refused_before_rasa_is_asked(tmp_path: Path) -> None:
    project = tmp_path / "bot"
    shutil.copytree(MOODBOT, project)
    (project / "domain.yml").write_text("intents:\n  - greet\n responses: [\n")
    impostor = Impostor()
    trainer = training(tmp_path, impostor, project)
    final = await finished(trainer, (await trainer.train(DESIGNER, "rasa"))["id"])
    assert (final["state"], final["path"]) == ("refused", "domain.yml")
    assert isinstance(final["line"], int)
    assert impostor.calls == []
    await trainer.close()


async def test_a_sentence_is_tried_on_both_engines_with_rasas_next_action(tmp_path: Path) -> None:
    impostor = Impostor()
    trainer = training(tmp_path, impostor)
    untrained = (await trainer.trial("hello"))["engines"][0]
    assert untrained["available"] is False
    assert "train the embedded engine" in str(untrained["error"])
    # Rasa serves: training the embedded engine makes its model of the files for the side.
    trained = await finished(trainer, (await trainer.train(DESIGNER, "embedded"))["id"])
    assert trained["state"] == "done"
    assert ("POST", "/model/train") not in impostor.calls  # Rasa's model untouched
    assert impostor.loaded == []
    trial = await trainer.trial("hello")
    embedded, rasa = trial["engines"]
    assert embedded["intent"] == "greet"
    assert embedded["next"][0]["action"] == "utter_greet"
    assert rasa["available"] is True
    assert rasa["intent"] == "greet"
    assert [s["intent"] for s in rasa["ranking"]] == ["greet", "goodbye"]
    assert rasa["next"][0] == {
        "action": "utter_greet",
        "by": "MemoizationPolicy",
        "confidence": 0.98,
        "says": None,
        "flows": rasa["next"][0]["flows"],
    }
    assert any("story" in f for f in rasa["next"][0]["flows"])
    await trainer.close()


async def test_rasa_unreachable_is_said_not_raised() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    rasa = RasaStudio("http://rasa.test", token="secret", transport=httpx.MockTransport(down))
    with pytest.raises(RasaError) as caught:
        await rasa.parse("hello")
    assert "secret" not in str(caught.value)
    assert caught.value.status is None
    await asyncio.wait_for(rasa.close(), 5)
