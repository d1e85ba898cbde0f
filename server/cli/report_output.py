"""How `switchboard report` writes a table (server/cli/report_commands.py): CSV with the
API's writer (the dashboard's download, spreadsheet formulas quoted), JSON with the API's
shape, or aligned text for people (durations as 1h 05m, rates as percentages)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.http.analytics_tables import Cell, Table


def duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def shown(value: Cell, unit: str) -> str:
    """A cell as a person reads it: durations as 1h 05m, rates as percentages."""
    if value is None:
        return "-"
    if unit == "seconds" and isinstance(value, int | float):
        return duration(float(value))
    if unit == "rate" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    return str(value)


def text(table: Table, keep: tuple[str, ...] | None = None) -> str:
    """The table aligned in columns (only the ``keep`` columns, when given)."""
    picked = [i for i, c in enumerate(table.columns) if keep is None or c in keep]
    head = [table.columns[i] for i in picked]
    body = [[shown(row[i], table.units[i]) for i in picked] for row in table.rows]
    widths = [max(len(r[n]) for r in [head, *body]) for n in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in body]
    rule = "  ".join("-" * w for w in widths)
    header = "  ".join(cell.ljust(w) for cell, w in zip(head, widths, strict=True))
    return "\n".join(line.rstrip() for line in [header, rule, *lines])


def write(
    table: Table,
    csv: bool,
    json: bool,
    keep: tuple[str, ...] | None = None,
    extra: dict[str, object] | None = None,
) -> None:
    """The table as CSV, as JSON (with ``extra`` beside it, as the API answers), or as text
    (``extra`` as lines under it)."""
    import orjson

    from server.http.analytics_tables import csv_body

    if csv:
        sys.stdout.write(csv_body(table))
    elif json:
        document: dict[str, object] = {
            "columns": table.columns,
            "units": table.units,
            "rows": table.rows,
            **(extra or {}),
        }
        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        print(text(table, keep) if table.rows else "nothing in this range")
        for name, value in (extra or {}).items():
            print(f"{name}: {value}")
