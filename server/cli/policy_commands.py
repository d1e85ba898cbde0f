"""`switchboard sla|intent` : routing policies from the command line (SLA targets per priority
band, which skills and team each intent needs), as the admin API's server/http/admin/policies.py
has them. Lists print JSON; each change is recorded in the audit log (server/cli/audit_notes.py).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from routing.sla import parse_duration
from server.cli.audit_notes import note
from server.cli.command import run_with
from server.errors import InvalidInput
from server.store import organisation as org
from server.store.views import Conn

sla_cli = typer.Typer(help="SLA policies per brand and priority band.", no_args_is_help=True)
intent_cli = typer.Typer(help="Which intents need which skills (and team).", no_args_is_help=True)

BrandOption = Annotated[
    str | None, typer.Option("--brand", help="Brand slug (default: the only brand).")
]


def split_csv(value: str | None) -> list[str] | None:
    """A comma-separated option as a list (None when not given)."""
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _duration(value: str, what: str) -> int:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise InvalidInput(f"{what}: {exc}") from None


@sla_cli.command("list")
def sla_list() -> None:
    """List SLA policies."""
    run_with(org.sla_policies)


@sla_cli.command("set")
def sla_set(
    band: Annotated[str, typer.Argument(help="urgent, high, normal or low.")],
    first_response: Annotated[str, typer.Option(help="Target, e.g. 15m.")],
    resolution: Annotated[str, typer.Option(help="Target, e.g. 8h.")],
    escalate: Annotated[int, typer.Option(help="Priority points added on a breach.")] = 0,
    notify: Annotated[str | None, typer.Option(help="Team told of a breach.")] = None,
    brand: BrandOption = None,
) -> None:
    """Set the first-response and resolution targets of a priority band."""

    async def change(conn: Conn) -> dict[str, Any]:
        first = _duration(first_response, "first response")
        resolved = _duration(resolution, "resolution")
        detail = {
            "brand": brand,
            "first_response_seconds": first,
            "resolution_seconds": resolved,
            "escalation_points": escalate,
            "notify_team": notify,
        }
        async with conn.transaction():
            policy = await org.put_sla_policy(
                conn,
                brand,
                band,
                first_response_seconds=first,
                resolution_seconds=resolved,
                escalation_points=escalate,
                notify_team=notify,
            )
            await note(
                conn,
                "sla.changed",
                brand_id=await org.brand_id(conn, policy["brand"]),
                target_kind="sla_policy",
                target_id=band,
                detail=detail,
            )
        return policy

    run_with(change)


@intent_cli.command("list")
def intent_list() -> None:
    """List which intents need which skills and team."""
    run_with(org.intent_routes)


@intent_cli.command("route")
def intent_route(
    intent: str,
    skills: Annotated[str, typer.Option(help="Skills it needs, comma-separated.")] = "",
    team: Annotated[str | None, typer.Option(help="The team that handles it.")] = None,
    brand: BrandOption = None,
) -> None:
    """Say which skills (and team) an intent needs."""
    needed = split_csv(skills) or []

    async def change(conn: Conn) -> dict[str, Any]:
        async with conn.transaction():
            route = await org.put_intent_route(conn, brand, intent, skills=needed, team=team)
            await note(
                conn,
                "intent_route.changed",
                brand_id=await org.brand_id(conn, brand),
                target_kind="intent_route",
                target_id=intent,
                detail={"brand": brand, "skills": needed, "team": team},
            )
        return route

    run_with(change)


@intent_cli.command("unroute")
def intent_unroute(intent: str, brand: BrandOption = None) -> None:
    """Forget an intent's route."""

    async def change(conn: Conn) -> None:
        async with conn.transaction():
            await org.delete_intent_route(conn, brand, intent)
            await note(
                conn,
                "intent_route.deleted",
                brand_id=await org.brand_id(conn, brand),
                target_kind="intent_route",
                target_id=intent,
            )

    run_with(change)
