"""docs/webchat-identity.md's worked example is right: its Python snippet prints the hash the
document shows, the same hash appears in the Node.js, widget and JSON examples, and the server
takes it for the example's secret and identifier."""

from __future__ import annotations

import contextlib
import io
import re

from server.store import visitors
from tests.channels.webchat_client import new_session
from tests.harness import ROOT, RunningServer

DOC = (ROOT / "docs" / "webchat-identity.md").read_text()
SECRET = re.search(r'secret = "([0-9a-f]{64})"', DOC)
SNIPPET = re.search(r"```python\n(.*?)```", DOC, re.S)


def test_the_python_snippet_prints_the_hash_the_document_shows() -> None:
    assert SNIPPET is not None
    code = SNIPPET.group(1)
    shown = re.search(r"^# ([0-9a-f]{64})$", code, re.M)
    assert shown is not None
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {})  # the document's own code, as a reader would run it
    assert printed.getvalue().strip() == shown.group(1)
    # Node.js, the widget tag and the session body show the same hash.
    assert DOC.count(shown.group(1)) == 4


async def test_the_server_takes_the_documented_hash(server: RunningServer) -> None:
    assert SECRET is not None
    async with server.services.pool.acquire() as conn:
        await visitors.set_identity_secret(conn, "webchat", "demo-web", SECRET.group(1))
    hashed = re.search(r'data-identifier-hash="([0-9a-f]{64})"', DOC)
    assert hashed is not None
    session = await new_session(
        server.base_url, identifier="user-42", identifier_hash=hashed.group(1)
    )
    assert session["verified"] is True
