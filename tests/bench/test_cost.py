"""bench.cost's statement count tells statements apart by more than their first line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cost import _count_statements

LOG = """\
2026-12-06 11:02:50.100 UTC [7] LOG:  duration: 0.500 ms  execute s1: WITH input AS (
\t    SELECT * FROM unnest($1::uuid[]) AS i(id))
\tUPDATE conversations SET x = 1
2026-12-06 11:02:50.101 UTC [7] DETAIL:  parameters: $1 = '{}'
2026-12-06 11:02:50.102 UTC [7] LOG:  duration: 0.250 ms  execute s2: WITH input AS (
\t    SELECT * FROM unnest($1::text[]) AS i(t))
\tINSERT INTO messages SELECT t FROM input
2026-12-06 11:02:50.103 UTC [7] LOG:  duration: 0.010 ms  parse s2: WITH input AS (
2026-12-06 11:02:50.104 UTC [7] LOG:  duration: 1.000 ms  statement: COMMIT;
"""


def test_multi_line_statements_are_counted_by_their_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "log"
    log.write_text("earlier line\n" + LOG)
    _count_statements(log, len("earlier line\n"), sent=1)
    out = capsys.readouterr().out
    assert out.startswith("statements   3.00 /msg (3 logged), 1.750 ms/msg")
    assert "UPDATE conversations SET x = 1" in out
    assert "INSERT INTO messages SELECT t FROM input" in out
    assert "   1.000/msg   500.0 us/msg  WITH input AS ( SELECT * FROM unnest($1::uuid[])" in out
