"""A real Rasa 3.6.21 for the tests: `rasa run --enable-api` and `rasa run actions`, from the
virtualenv and the model `make rasa-model` leaves under .cache, on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.processes import stop as stop_process
from server.cli.nlu_commands import rasa_model_path
from server.settings import DEFAULT_NLU_PROJECT
from tests.harness import free_port

ROOT = Path(__file__).resolve().parent.parent
RASA_BIN = ROOT / ".cache" / "rasa-venv" / "bin" / "rasa"
RASA_MODELS = ROOT / ".cache" / "rasa-models"
# Rasa loads TensorFlow before it answers: about a minute alone on these 2 cores, and more
# than three with the other pytest worker and a load beside it (seen: 180 s was not enough).
START_TIMEOUT = 600.0


@dataclass
class RasaStack:
    url: str
    actions_url: str
    process: subprocess.Popen[bytes]
    # The port the Switchboard server under test must listen on: the action server calls it.
    switchboard_port: int
    bot_api_token: str


def rasa_model() -> Path:
    model = rasa_model_path(DEFAULT_NLU_PROJECT, RASA_MODELS)
    if not RASA_BIN.exists() or not model.exists():
        raise RuntimeError(
            f"no Rasa virtualenv or model for the current project files ({model}):"
            " `make rasa-model` installs Rasa and trains it"
        )
    return model


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not start in {START_TIMEOUT:.0f} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def action_server(tmp: Path, switchboard_port: int, token: str) -> Iterator[str]:
    port = free_port()
    log = tmp / "actions.log"
    env = {
        **os.environ,
        "SWITCHBOARD_URL": f"http://127.0.0.1:{switchboard_port}",
        "SWITCHBOARD_BOT_API_TOKEN": token,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(RASA_BIN), "run", "actions", "--actions", "actions", "--port", str(port)],
            cwd=DEFAULT_NLU_PROJECT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        _wait(f"http://127.0.0.1:{port}/health", process, log)
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        stop_process(process, grace=15)


@contextlib.contextmanager
def rasa_server(tmp: Path, actions_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "{actions_url}"\n')
    log = tmp / f"rasa-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(RASA_BIN),
                "run",
                "--enable-api",
                "--model",
                str(rasa_model()),
                "--endpoints",
                str(endpoints),
                "--credentials",
                "credentials.yml",
                "--interface",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=DEFAULT_NLU_PROJECT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/status", process, log)
        yield url, process
    finally:
        stop_process(process, grace=15)


@contextlib.contextmanager
def rasa_stack(tmp: Path) -> Iterator[RasaStack]:
    rasa_model()  # fail early and clearly when `make rasa-model` has not run
    switchboard_port = free_port()
    token = "test-bot-api-token"
    with (
        action_server(tmp, switchboard_port, token) as actions_url,
        rasa_server(tmp, actions_url) as (url, process),
    ):
        yield RasaStack(url, actions_url, process, switchboard_port, token)
