import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.settings import Settings


def test_settings_come_from_prefixed_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_PORT", "9001")
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", "postgresql://u:hunter2@db/x")
    monkeypatch.setenv("SWITCHBOARD_ALLOWED_ORIGINS", '["https://shop.example"]')
    settings = Settings()
    assert settings.port == 9001
    assert settings.origins() == frozenset({"https://shop.example"})
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())


def test_without_allowed_origins_the_servers_own_origin_is_allowed() -> None:
    settings = Settings(port=8000)
    assert "http://127.0.0.1:8000" in settings.origins()
    assert "http://localhost:8000" in settings.origins()


def test_the_secret_key_is_created_once_and_kept(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).signing_key()
    assert len(first) > 40
    assert Settings(data_dir=tmp_path).signing_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="port"):
        Settings(port=70000)


def test_a_malformed_secret_is_not_echoed_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "almost-right but has spaces 7f3a9c"
    monkeypatch.setenv(
        "SWITCHBOARD_TELEGRAM_BOTS", f'[{{"token": "1:abc", "webhook_secret": "{secret}"}}]'
    )
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert "webhook_secret" in str(raised.value)
    assert secret not in str(raised.value)


def test_the_cli_names_a_bad_setting_in_one_line_without_its_value(tmp_path: Path) -> None:
    secret = "tok en-with-a-space-9d1e"
    env = {
        **os.environ,
        "SWITCHBOARD_TELEGRAM_BOTS": f'[{{"token": "1:a", "webhook_secret": "{secret}"}}]',
    }
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "migrate"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert secret not in result.stderr + result.stdout
    assert result.stderr.strip().startswith("error: SWITCHBOARD_TELEGRAM_BOTS")
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_health_port_is_not_the_main_port() -> None:
    """The checks' own listener on the main port would fail to bind after the node serves
    (the review's finding): refused when the settings are read."""
    with pytest.raises(ValidationError, match="health_port must differ from port"):
        Settings(port=8000, health_port=8000)
    assert Settings(port=0, health_port=0).health_port == 0
