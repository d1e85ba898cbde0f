"""`switchboard agent invite|reset-link|deactivate|reactivate`: accounts from the command line
(the admin API has the same under /api/admin/agents). What they do is recorded in the audit
log as done by "command line (<OS user>)"."""

from __future__ import annotations

from typing import Annotated

import typer

from server.cli.command import run
from server.cli.command import settings as cli_settings
from server.cli.privacy_commands import _actor_label

AgentArgument = Annotated[str, typer.Argument(help="The agent's email or id.")]


def agent_invite(agent: AgentArgument) -> None:
    """Mail the agent a link to set their password (single use, 72 hours) and print it.

    The mail goes through SWITCHBOARD_SMTP_RELAY_URL; without a relay, hand the printed link
    over another way. Links carry the server's public URL (SWITCHBOARD_PUBLIC_URL).
    """
    from channels.email.relay import Relay, RelayConfig
    from server import bootstrap
    from server.services.account_mail import AccountMailer
    from server.services.passwords import PasswordService

    settings = cli_settings()
    relay = None
    if settings.smtp_relay_url is not None:
        relay = Relay(RelayConfig.from_url(settings.smtp_relay_url.get_secret_value()))

    async def main() -> None:
        mailer = AccountMailer(
            relay,
            settings.account_mail_from or f"Switchboard <no-reply@{settings.smtp_hostname}>",
            retry_seconds=(),
        )
        async with bootstrap.database_only(settings) as pool:
            made = await PasswordService(pool, mailer, settings.base_url).invite(
                agent, actor=_actor_label()
            )
        await mailer.settled()
        print(f"invite for {made.email}, valid until {made.expires_at}:")
        print(f"  {made.link}")
        print("  mailed through the relay" if made.mailed else "  not mailed (no relay set)")

    run(main)


def agent_deactivate(agent: AgentArgument) -> None:
    """Deactivate an agent: no more logins, their sessions and API tokens stop working."""
    _set_active(agent, False)


def agent_reactivate(agent: AgentArgument) -> None:
    """Let a deactivated agent log in again."""
    _set_active(agent, True)


def _set_active(key: str, active: bool) -> None:
    from server import bootstrap
    from server.services.agents import set_active

    settings = cli_settings()

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool:
            agent = await set_active(pool, key, active, actor=_actor_label())
        print(f"{agent.email}: {'active' if active else 'deactivated'}")

    run(main)


def agent_second_factor_off(agent: AgentArgument) -> None:
    """Turn an agent's two-factor sign-in off (they lost their phone and their recovery
    codes); they can set it up again from the console's Account panel."""
    from uuid import UUID

    from server import bootstrap
    from server.store import agents as accounts
    from server.store import audit, credentials

    settings = cli_settings()

    async def main() -> None:
        async with (
            bootstrap.database_only(settings) as pool,
            pool.acquire() as conn,
            conn.transaction(),
        ):
            account = await accounts.account_by_key(conn, agent)
            await credentials.disable(conn, UUID(account["id"]))
            await audit.record(
                conn,
                action="agent.totp_disabled",
                actor_label=_actor_label(),
                target_kind="agent",
                target_id=account["id"],
                detail={"with": "command line"},
            )
        print(f"{account['email']}: two-factor sign-in is off")

    run(main)
