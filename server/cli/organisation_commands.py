"""`switchboard brand|team|skill|agent set|sla|intent|inbox` : the support organisation from the
command line, the same operations as the admin REST API (server/admin.py). Lists print JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from routing.sla import parse_duration
from server.cli.command import run_with
from server.errors import InvalidInput
from server.store import organisation as org
from server.store import roster, visitors

brand_cli = typer.Typer(help="Brands (inboxes belong to one): business hours, language.")
team_cli = typer.Typer(help="Teams: queues that agents belong to.", no_args_is_help=True)
skill_cli = typer.Typer(help="Skills agents have and conversations need.", no_args_is_help=True)
sla_cli = typer.Typer(help="SLA policies per brand and priority band.", no_args_is_help=True)
intent_cli = typer.Typer(help="Which intents need which skills (and team).", no_args_is_help=True)
inbox_cli = typer.Typer(help="Inboxes: which team each one feeds.", no_args_is_help=True)

BrandOption = Annotated[
    str | None, typer.Option("--brand", help="Brand slug (default: the only brand).")
]


GROUPS = {
    "brand": brand_cli,
    "team": team_cli,
    "skill": skill_cli,
    "sla": sla_cli,
    "intent": intent_cli,
    "inbox": inbox_cli,
}


def _csv(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _duration(value: str, what: str) -> int:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise InvalidInput(f"{what}: {exc}") from None


@brand_cli.command("list")
def brand_list() -> None:
    """List brands."""
    run_with(org.brands)


@brand_cli.command("set")
def brand_set(
    slug: str,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    hours: Annotated[
        str | None, typer.Option(help="Business hours, e.g. 'mon-fri 09:00-18:00 Europe/Paris'.")
    ] = None,
    no_hours: Annotated[bool, typer.Option("--no-hours", help="Open at any hour.")] = False,
    language: Annotated[str | None, typer.Option(help="The brand's own language.")] = None,
) -> None:
    """Create or change a brand."""
    run_with(
        lambda c: org.put_brand(
            c, slug, name=name, business_hours=hours, language=language, clear_hours=no_hours
        ),
    )


@team_cli.command("list")
def team_list() -> None:
    """List teams with their members."""
    run_with(org.teams)


@team_cli.command("set")
def team_set(
    slug: str,
    brand: BrandOption = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    assignment: Annotated[
        str | None, typer.Option(help="auto (the router assigns) or manual (agents pick).")
    ] = None,
    requeue: Annotated[
        bool | None,
        typer.Option(
            "--requeue/--keep",
            help="An agent gone away: requeue their unanswered conversations, or keep them.",
        ),
    ] = None,
    default: Annotated[
        bool | None, typer.Option("--default", help="Gets what no rule sends elsewhere.")
    ] = None,
) -> None:
    """Create or change a team."""
    run_with(
        lambda c: org.put_team(
            c,
            brand,
            slug,
            name=name,
            assignment=assignment,
            requeue_unanswered=requeue,
            default=default,
        ),
    )


@team_cli.command("delete")
def team_delete(slug: str, brand: BrandOption = None) -> None:
    """Delete a team (its conversations keep waiting, without a team)."""
    run_with(lambda c: org.delete_team(c, brand, slug))


@skill_cli.command("list")
def skill_list() -> None:
    """List skills."""
    run_with(org.skills)


@skill_cli.command("add")
def skill_add(
    name: str, description: Annotated[str, typer.Option(help="What it means.")] = ""
) -> None:
    """Add a skill (e.g. billing, technical, fr)."""
    run_with(lambda c: org.put_skill(c, name, description))


@skill_cli.command("delete")
def skill_delete(name: str) -> None:
    """Delete a skill (agents lose it)."""
    run_with(lambda c: org.delete_skill(c, name))


def agent_set(
    agent: Annotated[str, typer.Argument(help="The agent's email or id.")],
    capacity: Annotated[int | None, typer.Option(help="Most conversations at once.")] = None,
    skills: Annotated[str | None, typer.Option(help="All their skills, comma-separated.")] = None,
    teams: Annotated[str | None, typer.Option(help="All their teams, comma-separated.")] = None,
    brand: BrandOption = None,
    roles: Annotated[
        str | None,
        typer.Option(
            "--role",
            "--roles",
            help="All their roles in the brand, comma-separated: supervisor, agent, analyst,"
            " designer, editor; or admin (every brand).",
        ),
    ] = None,
) -> None:
    """Set an agent's capacity, skills, teams or roles (in a brand)."""
    run_with(
        lambda c: org.update_agent(
            c,
            agent,
            capacity=capacity,
            skills=_csv(skills),
            teams=_csv(teams),
            brand=brand,
            roles=_csv(roles),
        ),
    )


def agent_list() -> None:
    """List agents with status, capacity, load, teams and skills."""
    run_with(roster.agent_views)


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
    run_with(
        lambda c: org.put_sla_policy(
            c,
            brand,
            band,
            first_response_seconds=_duration(first_response, "first response"),
            resolution_seconds=_duration(resolution, "resolution"),
            escalation_points=escalate,
            notify_team=notify,
        ),
    )


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
    run_with(
        lambda c: org.put_intent_route(c, brand, intent, skills=_csv(skills) or [], team=team),
    )


@intent_cli.command("unroute")
def intent_unroute(intent: str, brand: BrandOption = None) -> None:
    """Forget an intent's route."""
    run_with(lambda c: org.delete_intent_route(c, brand, intent))


@inbox_cli.command("list")
def inbox_list() -> None:
    """List inboxes with their brand and team."""
    run_with(org.inboxes)


@inbox_cli.command("add")
def inbox_add(
    channel: Annotated[str, typer.Argument(help="webchat, email, telegram or slack.")],
    address: Annotated[str, typer.Argument(help="Widget key, support address, bot name.")],
    brand: BrandOption = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    team: Annotated[str | None, typer.Option(help="The team it feeds.")] = None,
) -> None:
    """Create an inbox (or rename it, or change its team)."""
    run_with(lambda c: org.put_inbox(c, brand, channel, address, name=name, team=team))


@inbox_cli.command("team")
def inbox_team(
    channel: str,
    address: str,
    team: Annotated[str | None, typer.Argument(help="Team slug; omit for none.")] = None,
) -> None:
    """Send an inbox's conversations to a team (unless their intent says otherwise)."""
    run_with(lambda c: org.set_inbox_team(c, channel, address, team))


@inbox_cli.command("identity-secret")
def inbox_identity_secret(
    address: Annotated[str, typer.Argument(help="The web chat inbox's address (widget key).")],
    off: Annotated[bool, typer.Option("--off", help="Stop verifying identities.")] = False,
    status: Annotated[bool, typer.Option("--status", help="Only say whether one is set.")] = False,
) -> None:
    """Make (or rotate) a web chat inbox's identity secret, printed this once: the embedding
    site signs its signed-in user with it (docs/webchat-identity.md)."""
    if off:
        run_with(lambda c: visitors.clear_identity_secret(c, "webchat", address))
    elif status:
        run_with(lambda c: visitors.secret_status(c, "webchat", address))
    else:
        run_with(lambda c: visitors.set_identity_secret(c, "webchat", address))


def contact_profile(
    email: str,
    tier: Annotated[str | None, typer.Option(help="e.g. gold, silver.")] = None,
    value: Annotated[float | None, typer.Option(help="Lifetime value.")] = None,
) -> None:
    """Set a contact's tier and lifetime value (both raise their priority)."""
    run_with(lambda c: org.set_contact_profile(c, email, tier=tier, value=value))
