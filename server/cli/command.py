"""How every `switchboard` command starts: settings read once, logging set up, and our errors
turned into one line on stderr with exit status 2."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

import typer

from server.errors import SwitchboardError

if TYPE_CHECKING:
    from server.settings import Settings
    from server.store import Conn


def settings(**overrides: Any) -> Settings:
    """The settings, with the command's options (those given) over the environment's."""
    from pydantic import ValidationError

    from server import logs
    from server.settings import Settings

    try:
        result = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        # One line per bad setting, no traceback; pydantic hides the values (they may be secrets).
        for error in exc.errors(include_input=False, include_url=False):
            name = "SWITCHBOARD_" + "_".join(str(part) for part in error["loc"][:1]).upper()
            where = ".".join(str(part) for part in error["loc"][1:])
            typer.secho(
                f"error: {name}{' ' + where if where else ''}: {error['msg']}", err=True, fg="red"
            )
        raise typer.Exit(2) from None
    logs.configure(result.log_level, result.log_json)
    return result


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine; our errors become a one-line message and exit status 2."""
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
    except SwitchboardError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None


def run_with(action: Callable[[Conn], Awaitable[Any]]) -> None:
    """Run one operation on the database (organisation, mail); print what it returns as JSON."""
    import orjson

    from server import bootstrap

    async def main() -> None:
        async with bootstrap.database_only(settings()) as pool, pool.acquire() as conn:
            result = await action(conn)
        if result is not None:
            typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2, default=str).decode())

    run(main)
