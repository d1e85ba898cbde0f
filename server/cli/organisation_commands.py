"""`switchboard brand|team|skill|agent set|inbox|contact profile` : the support organisation
from the command line, the same operations as the admin REST API (server/http/admin/). Lists
print JSON; the SLA and intent commands are in policy_commands.py.

Every change is recorded in the audit log as the admin API records it (the same action, target
and detail), in the change's transaction, as done by "command line (<OS user>)".
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from server.cli.audit_notes import given, note
from server.cli.command import run_with
from server.cli.policy_commands import BrandOption, intent_cli, sla_cli, split_csv
from server.errors import InvalidInput
from server.store import organisation as org
from server.store import privacy as privacy_store
from server.store import retention, roster, visitors
from server.store.views import Conn

brand_cli = typer.Typer(help="Brands (inboxes belong to one): business hours, language.")
team_cli = typer.Typer(help="Teams: queues that agents belong to.", no_args_is_help=True)
skill_cli = typer.Typer(help="Skills agents have and conversations need.", no_args_is_help=True)
inbox_cli = typer.Typer(help="Inboxes: which team each one feeds.", no_args_is_help=True)

GROUPS = {
    "brand": brand_cli,
    "team": team_cli,
    "skill": skill_cli,
    "sla": sla_cli,
    "intent": intent_cli,
    "inbox": inbox_cli,
}


def _days(option: str, value: str) -> int | None:
    """A retention option: a number of days, or "forever" (None: keep forever)."""
    if value.strip().lower() == "forever":
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"--{option}: a number of days, or 'forever'") from None


def _retention_option(what: str) -> Any:
    return typer.Option(help=f"{what} A number of days, or 'forever'; left out: unchanged.")


@brand_cli.command("list")
def brand_list() -> None:
    """List brands, with their retention settings."""

    async def read(conn: Conn) -> list[dict[str, Any]]:
        kept = {r.slug: r for r in await retention.retention(conn)}
        return [
            {
                **b,
                **{name: getattr(kept[b["slug"]], name) for name in retention.SETTINGS},
                "retention_action": kept[b["slug"]].retention_action,
            }
            for b in await org.brands(conn)
        ]

    run_with(read)


@brand_cli.command("set")
def brand_set(
    slug: str,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    hours: Annotated[
        str | None, typer.Option(help="Business hours, e.g. 'mon-fri 09:00-18:00 Europe/Paris'.")
    ] = None,
    no_hours: Annotated[bool, typer.Option("--no-hours", help="Open at any hour.")] = False,
    language: Annotated[str | None, typer.Option(help="The brand's own language.")] = None,
    retention_days: Annotated[
        str | None,
        _retention_option("Anonymise resolved conversations this many days after they end."),
    ] = None,
    events_retention_days: Annotated[
        str | None, _retention_option("Keep the consoles' replay log (events) this long.")
    ] = None,
    files_retention_days: Annotated[
        str | None, _retention_option("Delete raw mail and attached files after this long.")
    ] = None,
    retention_action: Annotated[
        str | None,
        typer.Option(
            help="What happens to conversations past --retention-days: 'anonymise' (the"
            " default: messages replaced, the conversation kept for the figures) or 'delete'."
        ),
    ] = None,
) -> None:
    """Create or change a brand (docs/privacy.md says what retention does)."""
    options = {
        "retention_days": retention_days,
        "events_retention_days": events_retention_days,
        "files_retention_days": files_retention_days,
    }

    async def change(conn: Conn) -> dict[str, Any]:
        # Read here, where run_with turns a refusal into one line and exit status 2.
        kept = {k: _days(k.replace("_", "-"), v) for k, v in options.items() if v is not None}
        async with conn.transaction():
            brand = await org.put_brand(
                conn, slug, name=name, business_hours=hours, language=language, clear_hours=no_hours
            )
            brand_id = await org.brand_id(conn, slug)
            brand |= await retention.set_retention(conn, brand_id, kept)
            if retention_action is not None:
                brand["retention_action"] = await retention.set_retention_action(
                    conn, brand_id, retention_action
                )
            detail = given(
                name=name,
                business_hours=hours,
                language=language,
                retention_action=retention_action,
            )
            if no_hours:
                detail["clear_business_hours"] = True
            await note(
                conn,
                "brand.changed",
                brand_id=brand_id,
                target_kind="brand",
                target_id=slug,
                detail=detail | kept,
            )
        return brand

    run_with(change)


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

    async def change(conn: Conn) -> dict[str, Any]:
        async with conn.transaction():
            team = await org.put_team(
                conn,
                brand,
                slug,
                name=name,
                assignment=assignment,
                requeue_unanswered=requeue,
                default=default,
            )
            detail = given(
                brand=brand,
                name=name,
                assignment=assignment,
                requeue_unanswered=requeue,
                default=default,
            )
            await note(
                conn,
                "team.changed",
                brand_id=await org.brand_id(conn, brand),
                target_kind="team",
                target_id=team["id"],
                detail=detail,
            )
        return team

    run_with(change)


@team_cli.command("delete")
def team_delete(slug: str, brand: BrandOption = None) -> None:
    """Delete a team (its conversations keep waiting, without a team)."""

    async def change(conn: Conn) -> None:
        async with conn.transaction():
            brand_id = await org.brand_id(conn, brand)
            team_id = await org.team_id(conn, brand_id, slug)
            await org.delete_team(conn, brand, slug)
            await note(
                conn,
                "team.deleted",
                brand_id=brand_id,
                target_kind="team",
                target_id=str(team_id),
                detail={"slug": slug},
            )

    run_with(change)


@skill_cli.command("list")
def skill_list() -> None:
    """List skills."""
    run_with(org.skills)


@skill_cli.command("add")
def skill_add(
    name: str, description: Annotated[str, typer.Option(help="What it means.")] = ""
) -> None:
    """Add a skill (e.g. billing, technical, fr)."""

    async def change(conn: Conn) -> dict[str, Any]:
        async with conn.transaction():
            skill = await org.put_skill(conn, name, description)
            await note(conn, "skill.changed", target_kind="skill", target_id=name, detail=skill)
        return skill

    run_with(change)


@skill_cli.command("delete")
def skill_delete(name: str) -> None:
    """Delete a skill (agents lose it)."""

    async def change(conn: Conn) -> None:
        async with conn.transaction():
            await org.delete_skill(conn, name)
            await note(conn, "skill.deleted", target_kind="skill", target_id=name)

    run_with(change)


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
    detail = given(
        capacity=capacity,
        skills=split_csv(skills),
        teams=split_csv(teams),
        brand=brand,
        roles=split_csv(roles),
    )

    async def change(conn: Conn) -> None:
        async with conn.transaction():
            await org.update_agent(
                conn,
                agent,
                capacity=capacity,
                skills=split_csv(skills),
                teams=split_csv(teams),
                brand=brand,
                roles=split_csv(roles),
            )
            agent_id = str(await org.agent_id(conn, agent))
            brand_id = await org.brand_id(conn, brand) if brand is not None else None
            # As the admin API does: role and team changes are actions of their own.
            actions = [a for a, names in AGENT_ACTIONS if names & detail.keys()]
            for action in actions or ["agent.changed"]:
                await note(
                    conn,
                    action,
                    brand_id=brand_id,
                    target_kind="agent",
                    target_id=agent_id,
                    detail=detail,
                )

    run_with(change)


AGENT_ACTIONS = (
    ("agent.role_changed", {"roles"}),
    ("agent.teams_changed", {"teams"}),
    ("agent.changed", {"capacity", "skills"}),
)


def agent_list() -> None:
    """List agents with status, capacity, load, teams and skills."""
    run_with(roster.agent_views)


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

    async def change(conn: Conn) -> dict[str, Any]:
        async with conn.transaction():
            inbox = await org.put_inbox(conn, brand, channel, address, name=name, team=team)
            await note(
                conn,
                "inbox.changed",
                brand_id=await org.brand_id(conn, inbox["brand"]),
                target_kind="inbox",
                target_id=f"{channel}:{address}",
                detail=given(brand=brand, name=name, team=team),
            )
        return inbox

    run_with(change)


@inbox_cli.command("team")
def inbox_team(
    channel: str,
    address: str,
    team: Annotated[str | None, typer.Argument(help="Team slug; omit for none.")] = None,
) -> None:
    """Send an inbox's conversations to a team (unless their intent says otherwise)."""

    async def change(conn: Conn) -> None:
        async with conn.transaction():
            await org.set_inbox_team(conn, channel, address, team)
            await note(
                conn,
                "inbox.changed",
                target_kind="inbox",
                target_id=f"{channel}:{address}",
                detail={"team": team},
            )

    run_with(change)


@inbox_cli.command("identity-secret")
def inbox_identity_secret(
    address: Annotated[str, typer.Argument(help="The web chat inbox's address (widget key).")],
    off: Annotated[bool, typer.Option("--off", help="Stop verifying identities.")] = False,
    status: Annotated[bool, typer.Option("--status", help="Only say whether one is set.")] = False,
) -> None:
    """Make (or rotate) a web chat inbox's identity secret, printed this once: the embedding
    site signs its signed-in user with it (docs/webchat-identity.md)."""
    if status and not off:
        run_with(lambda c: visitors.secret_status(c, "webchat", address))
        return

    async def change(conn: Conn) -> visitors.SecretStatus:
        async with conn.transaction():
            if off:
                made = await visitors.clear_identity_secret(conn, "webchat", address)
            else:
                made = await visitors.set_identity_secret(conn, "webchat", address)
            await note(
                conn,
                "inbox.identity_secret_cleared" if off else "inbox.identity_secret_set",
                brand_id=await org.brand_id(conn, made["brand"]),
                target_kind="inbox",
                target_id=f"webchat:{address}",
                detail=None if off else {"generated": True},  # never the secret
            )
        return made

    run_with(change)


def contact_profile(
    email: str,
    tier: Annotated[str | None, typer.Option(help="e.g. gold, silver.")] = None,
    value: Annotated[float | None, typer.Option(help="Lifetime value.")] = None,
) -> None:
    """Set a contact's tier and lifetime value (both raise their priority)."""

    async def change(conn: Conn) -> int:
        async with conn.transaction():
            count = await org.set_contact_profile(conn, email, tier=tier, value=value)
            # Contacts are named by id in the log, never by address (an erasure leaves it alone).
            for contact in await privacy_store.contacts_by_email(conn, email):
                await note(
                    conn,
                    "contact.changed",
                    brand_id=contact["brand_id"],
                    target_kind="contact",
                    target_id=contact["id"],
                    detail=given(tier=tier, value=value),
                )
        return count

    run_with(change)
