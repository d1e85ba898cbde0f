"""The ``switchboard`` command line: serve, migrate, seed-demo, agents and the bot's NLU.

Each command imports what it uses inside its function: building the command tree imports
only typer and the command modules, so ``--help`` and the light commands do not pay for the
server (uvicorn, the channels' libraries, argon2's dummy hash, scikit-learn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from server.cli import account_commands
from server.cli import organisation_commands as routing_commands
from server.cli.cluster_commands import cluster_cli
from server.cli.command import run as _run
from server.cli.command import settings as _settings
from server.cli.embedding_commands import embeddings_cli
from server.cli.kb_commands import kb_cli
from server.cli.mail_commands import mail_cli
from server.cli.nlu_commands import nlu_cli
from server.cli.privacy_commands import audit_cli, contact_erase, contact_export
from server.cli.report_commands import report_cli
from server.cli.review_commands import review_cli

if TYPE_CHECKING:
    import uvicorn

    from server.http.health import HealthPort
    from server.settings import Settings

cli = typer.Typer(
    help="Switchboard: real-time omnichannel support server.",
    no_args_is_help=True,
    add_completion=False,
)
agent_cli = typer.Typer(help="Manage console agents.", no_args_is_help=True)
cli.add_typer(agent_cli, name="agent")
cli.add_typer(nlu_cli, name="nlu")
nlu_cli.add_typer(review_cli, name="review")
cli.add_typer(mail_cli, name="mail")
contact_cli = typer.Typer(help="Manage customer contacts.", no_args_is_help=True)
cli.add_typer(contact_cli, name="contact")
cli.add_typer(contact_cli, name="contacts", hidden=True)
cli.add_typer(audit_cli, name="audit")
cli.add_typer(embeddings_cli, name="embeddings")
cli.add_typer(kb_cli, name="kb")
cli.add_typer(report_cli, name="report")
cli.add_typer(cluster_cli, name="cluster")
for name, group in routing_commands.GROUPS.items():
    cli.add_typer(group, name=name)
agent_cli.command("set")(routing_commands.agent_set)
agent_cli.command("list")(routing_commands.agent_list)
agent_cli.command("invite")(account_commands.agent_invite)
agent_cli.command("deactivate")(account_commands.agent_deactivate)
agent_cli.command("reactivate")(account_commands.agent_reactivate)
agent_cli.command("second-factor-off")(account_commands.agent_second_factor_off)
contact_cli.command("profile")(routing_commands.contact_profile)
contact_cli.command("export")(contact_export)
contact_cli.command("erase")(contact_erase)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (0 picks a free one).")] = None,
    health_port: Annotated[
        int | None,
        typer.Option(help="A port of its own for /readyz, /healthz and /metrics (the proxy's)."),
    ] = None,
    smtp_port: Annotated[
        int | None, typer.Option(help="Inbound SMTP port (0 picks a free one).")
    ] = None,
    demo_data: Annotated[bool, typer.Option("--demo", help="Seed the demo data.")] = False,
) -> None:
    """Start the server (embedded Postgres unless SWITCHBOARD_DATABASE_URL is set)."""
    import asyncio
    import gc
    import signal

    from server import bootstrap
    from server.http import shutdown
    from server.http.app import asgi_app, server_config
    from server.http.health import HealthPort
    from server.services import demo

    settings = _settings(host=host, port=port, smtp_port=smtp_port, health_port=health_port)
    if demo_data and settings.admin_token_always is None:
        # The demo's Dana is an admin, which would retire the bootstrap admin token at once;
        # with demo data it stays usable unless SWITCHBOARD_ADMIN_TOKEN_ALWAYS=0 says not.
        settings = settings.model_copy(update={"admin_token_always": True})

    async def main() -> None:
        # uvicorn handles SIGINT/SIGTERM while serving, then re-raises the signal once it has
        # stopped; these no-op handlers absorb that, so the embedded Postgres is still stopped
        # (below) and a graceful shutdown exits 0.
        services = await bootstrap.start(settings)
        health: HealthPort | None = None
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)
        try:
            if demo_data:
                await demo.seed(services.pool, second_brand=True)
            # What start-up loaded (models, the app, the pools) lives as long as the process:
            # frozen out of the collector's sight, a full collection walks only what came
            # after. Before, each took 150-200 ms walking the models, and a burst of sockets
            # (a reconnect storm) triggers several: a quarter of a node's CPU (py-spy, issue 21).
            gc.collect()
            gc.freeze()
            # And collect less often: each held socket is a few hundred objects, and a storm of
            # reconnects still spent half a node's time in collections that walked them all
            # (10,000 sockets over three nodes; py-spy, issue 21).
            gc.set_threshold(50_000, 20, 100)
            # SIGTERM drains first: /readyz says 503 until the proxy has moved the traffic.
            drain = shutdown.Drain(settings.drain_seconds)
            app = shutdown.not_ready_while_draining(asgi_app(services), drain)
            server = shutdown.DrainingServer(server_config(app, settings), drain)
            serving = asyncio.create_task(server.serve())
            # uvicorn only exposes a `started` flag, no event to await.
            while not server.started and not serving.done():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            if server.started:
                # The checks' own port, once the app serves (and until it has stopped: a
                # draining node's /readyz says 503 there too).
                if settings.health_port is not None:
                    health = HealthPort(app, settings.host, settings.health_port)
                    try:
                        await health.start()
                    except OSError:
                        # The port is taken: stop serving rather than serve unchecked, and
                        # let uvicorn finish before the services it uses are closed.
                        server.should_exit = True
                        await serving
                        raise
                smtp_port = services.smtp.port if services.smtp is not None else None
                _announce(server, settings, demo_data, smtp_port, health)
                # What the first customer message would otherwise load, now, in the
                # background: "listening" waits for none of it.
                if services.warm_up is not None:
                    services.warm_up.start()
            await serving
        finally:
            if health is not None:
                await health.stop()
            await bootstrap.stop(services)

    _run(main)


def _announce(
    server: uvicorn.Server,
    settings: Settings,
    demo_data: bool,
    smtp_port: int | None,
    health: HealthPort | None = None,
) -> None:
    from server.services import demo

    port = server.servers[0].sockets[0].getsockname()[1]
    base = settings.base_url if settings.port else f"http://{settings.host}:{port}"
    lines = [
        f"Switchboard is listening on {base}",
        f"  web chat demo : {base}/",
        f"  agent console : {base}/console",
    ]
    if smtp_port is not None:
        lines.append(f"  inbound SMTP  : {settings.smtp_host}:{smtp_port}")
    if health is not None:
        lines.append(f"  health checks : http://{settings.host}:{health.port}/readyz")
    if demo_data:
        lines.append(f"  demo agent    : {demo.AGENT_EMAIL} / {demo.AGENT_PASSWORD}")
        lines.append(f"  second brand  : {demo.OTHER_AGENTS[0][0]} (same password)")
        if smtp_port is not None:
            lines.append(f"  demo mailbox  : {demo.EMAIL_INBOX} (mail it at the inbound SMTP)")
    where = "SWITCHBOARD_ADMIN_TOKEN" if settings.admin_token else settings.data_dir / "admin_token"
    lines.append(f"  admin API     : {base}/api/admin (bearer token: {where})")
    print("\n".join(lines), flush=True)


@cli.command()
def migrate() -> None:
    """Apply pending schema migrations and print the schema version."""
    from server import bootstrap
    from server.store import database

    settings = _settings()

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool:
            print(f"schema version {await database.schema_version(pool)}")

    _run(main)


@cli.command("seed-demo")
def seed_demo() -> None:
    """Create the demo brand, web chat inbox and agent (idempotent)."""
    from server import bootstrap
    from server.services import demo

    settings = _settings()

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool:
            await demo.seed(pool, second_brand=True)
            print(f"demo agent: {demo.AGENT_EMAIL} / {demo.AGENT_PASSWORD}")

    _run(main)


@agent_cli.command("create")
def agent_create(
    email: Annotated[str, typer.Option(help="Login email.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[
        str,
        typer.Option(
            help="admin (every brand), or the role held in --brand: supervisor, agent,"
            " analyst, designer or editor; comma-separated for several."
        ),
    ] = "agent",
    brand: Annotated[
        str | None, typer.Option(help="The brand's slug (the only brand when there is one).")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="At least 12 characters, not the email, not a common password; asked for"
            " when left out (unless --invite)."
        ),
    ] = None,
    invite: Annotated[
        bool, typer.Option("--invite", help="No password: mail the agent a link to set one.")
    ] = False,
) -> None:
    """Create a console agent (the password is stored argon2-hashed)."""
    if password is None and not invite:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    from server import bootstrap
    from server.cli.audit_notes import given, note
    from server.services.agents import create_agent
    from server.store import organisation as org

    settings = _settings()
    held = [r.strip() for r in role.split(",") if r.strip()]

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool:
            agent = await create_agent(
                pool, email=email, name=name, password=password, brand=brand, roles=held
            )
            async with pool.acquire() as conn:
                # As the admin API records it (never the password).
                await note(
                    conn,
                    "agent.created",
                    brand_id=await org.brand_id(conn, brand) if brand is not None else None,
                    target_kind="agent",
                    target_id=agent.id,
                    detail=given(email=email, name=name, roles=held, brand=brand)
                    | ({"invite": True} if invite else {}),
                )
            print(f"created {agent.role} {agent.email} ({agent.id})")

    _run(main)
    if invite:
        account_commands.agent_invite(email)


@contact_cli.command("vip")
def contact_vip(
    email: Annotated[str, typer.Argument(help="The contact's email address.")],
    off: Annotated[bool, typer.Option("--off", help="Remove the VIP flag.")] = False,
) -> None:
    """Mark a contact as VIP (their conversations go straight to a human) or unmark them."""
    from server import bootstrap
    from server.errors import NotFound
    from server.store import organisation as org

    settings = _settings()

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool, pool.acquire() as conn:
            changed = await org.set_vip_by_email(conn, email, not off)
        if not changed:
            raise NotFound(f"no contact with email {email}")
        print(f"{email}: {'not ' if off else ''}VIP ({changed} contact{'s' * (changed != 1)})")

    _run(main)


def main() -> None:
    cli(prog_name="switchboard")


if __name__ == "__main__":
    main()
