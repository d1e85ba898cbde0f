"""`switchboard audit list` and `switchboard contact export|erase`: the audit log and a
customer's data rights from the command line (the admin API has the same under /api/admin).

What these commands do is recorded in the audit log as done by "command line (<OS user>)".
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from server.cli.command import run, run_with
from server.cli.command import settings as cli_settings

if TYPE_CHECKING:
    from server.store import Conn

audit_cli = typer.Typer(help="The audit log: who did what and when.", no_args_is_help=True)

ContactArgument = Annotated[str, typer.Argument(help="The contact's id.")]


def _actor_label() -> str:
    try:
        return f"command line ({getpass.getuser()})"
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        return "command line"


@audit_cli.command("list")
def audit_list(
    action: Annotated[
        str | None, typer.Option(help="An action (contact.erased) or family (contact.).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="From this ISO date or time (UTC unless it says).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before this ISO date or time.")] = None,
    actor: Annotated[
        str | None, typer.Option(help="An agent's id or email, 'admin token' or 'system'.")
    ] = None,
    brand: Annotated[str | None, typer.Option(help="A brand's slug.")] = None,
    target: Annotated[
        str | None, typer.Option(help="What was acted on: 'contact' or 'contact:<id>'.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
) -> None:
    """Audit entries, newest first, as JSON."""
    from server.store import audit
    from server.store import organisation as org

    kind, _, key = (target or "").partition(":")

    async def read(conn: Conn) -> object:
        # Checked here, where run_with turns a refusal into one line and exit status 2.
        since_at = audit.moment("--since", since) if since is not None else None
        until_at = audit.moment("--until", until) if until is not None else None
        if action is not None:
            audit.action_filter(action)
        brand_id = str(await org.brand_id(conn, brand)) if brand is not None else None
        query = audit.AuditQuery(
            actor=actor,
            action=action,
            brand_id=brand_id,
            target_kind=kind or None,
            target_id=key or None,
            since=since_at,
            until=until_at,
            limit=limit,
        )
        return (await audit.entries(conn, query))["entries"]

    run_with(read)


def contact_export(
    contact: ContactArgument,
    output: Annotated[Path, typer.Option("--output", "-o", help="The ZIP file to write.")],
) -> None:
    """Write everything held about a contact to a ZIP file (recorded in the audit log)."""
    from server import bootstrap
    from server.services import privacy

    settings = cli_settings()
    partial = output.with_name(output.name + ".part")

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool:
            try:
                with partial.open("wb") as out:
                    await privacy.export_contact(
                        pool, contact, out, privacy.Actor(label=_actor_label())
                    )
                partial.replace(output)
            finally:
                partial.unlink(missing_ok=True)
        print(f"wrote {output} ({output.stat().st_size:,} bytes)")

    run(main)


def contact_erase(
    contact: ContactArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a contact (cannot be undone; recorded in the audit log).

    Its messages are replaced by a tombstone, its files, mails and identities deleted, its name
    and address cleared; its conversations stay, resolved, as counts for the reports.
    """
    from server import bootstrap
    from server.services import privacy

    if not yes:
        typer.confirm(f"Erase contact {contact}? This cannot be undone.", abort=True)
    settings = cli_settings()

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool:
            erased = await privacy.erase_contact(pool, contact, privacy.Actor(label=_actor_label()))
        print(
            f"erased contact {contact}: "
            + ", ".join(f"{count} {what.replace('_', ' ')}" for what, count in erased.items())
        )

    run(main)
