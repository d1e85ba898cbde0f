"""The protocol document's example client works against a real server, unchanged."""

from __future__ import annotations

import asyncio
import sys

from tests.harness import ROOT, RunningServer

EXAMPLE = ROOT / "docs" / "examples" / "webchat_client.py"


async def test_the_documented_example_client_chats_with_the_server(
    server: RunningServer,
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        server.base_url,
        "demo-web",
        "Hello from the docs",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, stderr.decode()
    lines = stdout.decode().splitlines()
    assert lines[0].startswith("welcome")
    assert any(line.startswith("ack") for line in lines)
    assert "Hello from the docs" in stdout.decode()
    assert server.services.settings.auto_ack_text in stdout.decode()


def test_the_document_shows_the_example_as_it_is() -> None:
    doc = (ROOT / "docs" / "webchat-protocol.md").read_text()
    assert EXAMPLE.read_text().strip() in doc
