"""`switchboard kb import` and `kb export` as real processes against a real Postgres: an
import creates, a second one changes nothing, and an export reads back as the same
articles."""

from __future__ import annotations

import json
from pathlib import Path

from tests.server.cli.test_main import switchboard


async def test_import_then_again_then_export_and_back(dsn: str, tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "returns.md").write_text(
        "---\ntitle: Returning an item\ncategory: Returns\n---\nWithin 30 days.\n"
    )
    (folder / "retours.md").write_text(
        "---\nlanguage: fr\n---\n# Retourner un article\n\nSous 30 jours.\n"
    )
    (folder / "bad.md").write_text("---\nstatus: maybe\n---\ntext\n")

    first = switchboard(dsn, "kb", "import", str(folder), "--brand", "demo", "--publish")
    assert first.returncode == 1  # one file could not be imported
    assert first.stdout.strip() == "2 created, 0 updated, 0 unchanged, 1 failed"
    assert "file:bad.md: status: draft or published, not 'maybe'" in first.stderr

    (folder / "bad.md").unlink()
    again = switchboard(dsn, "kb", "import", str(folder), "--brand", "demo", "--publish")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "0 created, 0 updated, 2 unchanged, 0 failed"

    exported = switchboard(dsn, "kb", "export", "--brand", "demo")
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    titles = sorted((a["language"], a["title"], a["status"]) for a in document["articles"])
    assert titles == [
        ("en", "Returning an item", "published"),
        ("fr", "Retourner un article", "published"),
    ]
    path = tmp_path / "export.json"
    path.write_text(exported.stdout)
    back = switchboard(dsn, "kb", "import", str(path))
    assert back.returncode == 0, back.stderr
    assert back.stdout.strip() == "0 created, 0 updated, 2 unchanged, 0 failed"

    no_brand = switchboard(dsn, "kb", "import", str(folder))
    assert no_brand.returncode == 1
    assert "no brand: give --brand or a brand field" in no_brand.stderr
