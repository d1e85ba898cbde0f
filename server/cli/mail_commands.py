"""`switchboard mail list|raw|retry`: the mail received over SMTP, and the quarantine, from the
command line (the admin API has the same under /api/admin/mail)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from server.cli.command import run_with
from server.errors import InvalidInput, NotFound
from server.store import mail
from server.store.views import Conn

mail_cli = typer.Typer(help="Mail received over SMTP; the quarantine.", no_args_is_help=True)

STATES = ("received", "stored", "duplicate", "report", "quarantined")


@mail_cli.command("list")
def mail_list(
    state: Annotated[str | None, typer.Option(help="Only this state, e.g. quarantined.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
) -> None:
    """Receipts, newest first, with their state and (when quarantined) the reason."""
    if state is not None and state not in STATES:
        typer.secho(f"error: --state must be one of {', '.join(STATES)}", err=True, fg="red")
        raise typer.Exit(2)

    async def action(conn: Conn) -> object:
        return await mail.receipts(conn, state, limit)

    run_with(action)


@mail_cli.command("raw")
def mail_raw(receipt: Annotated[int, typer.Argument(min=1)]) -> None:
    """Write a receipt's raw message (.eml) to standard output."""

    async def action(conn: Conn) -> None:
        raw = await mail.raw_receipt(conn, receipt)
        if raw is None:
            raise NotFound(f"no mail receipt {receipt}")
        sys.stdout.buffer.write(raw)
        sys.stdout.flush()

    run_with(action)


@mail_cli.command("retry")
def mail_retry(receipt: Annotated[int, typer.Argument(min=1)]) -> None:
    """Parse a quarantined mail again (a running server picks it up within 30 s)."""

    async def action(conn: Conn) -> dict[str, object]:
        if not await mail.requeue_receipt(conn, receipt):
            raise InvalidInput(f"no quarantined mail receipt {receipt}")
        return {"id": receipt, "state": "received"}

    run_with(action)
