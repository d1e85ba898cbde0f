"""`switchboard nlu review`: the trainer review inbox from the terminal (issue 19): list the
messages the bot may have got wrong, label them (each becomes a training example in the
project's files, a version with the trainer as author) or mark them "not for the bot".

The same service as the console's Review section (server/services/bot_review.py). ``list``
reads every brand (an operator's command) unless ``--brand``; ``label`` and ``ignore`` act as
the trainer named by ``--by``, within the brands they review. A running server's embedded
engine notices the changed files and retrains by itself; the console's "Retrain" also
measures the reviewed set before and after. A refusal is one line on stderr, exit status 2.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from server.cli.command import run
from server.cli.command import settings as cli_settings

if TYPE_CHECKING:
    from server.services.bot_review import BotReview
    from web_console.port import Agent

T = TypeVar("T")

review_cli = typer.Typer(
    help="The trainer review inbox: list, label and ignore what the bot may have got wrong.",
    no_args_is_help=True,
)

Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
By = Annotated[
    str, typer.Option("--by", help="The trainer (a bot designer or an admin): email or id.")
]
Ids = Annotated[list[int], typer.Argument(help="Message ids, as `review list` shows them.")]


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg="red")
    return typer.Exit(2)


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{name}: a date as YYYY-MM-DD") from None


def _with_review(
    act: Callable[[BotReview, Any], Awaitable[T]], by: str | None
) -> Callable[[], Coroutine[Any, Any, T]]:
    """A coroutine function running ``act(review, agent)`` on the database: the agent named
    by ``by``, or the operator (every brand) when None."""

    async def main() -> T:
        from server import bootstrap
        from server.services.agents import AgentStore
        from server.services.bot_review import BotReview
        from server.store import organisation
        from web_console.port import ActionRefused, Agent, BadValue, Forbidden, Unknown

        settings = cli_settings()
        async with bootstrap.database_only(settings) as pool:
            review = BotReview(
                pool, None, settings.bot_confidence_threshold, project=settings.nlu_project
            )
            agent: Agent | None
            if by is None:
                agent = Agent(
                    id="00000000-0000-0000-0000-000000000000", email="cli", name="cli", admin=True
                )
            else:
                async with pool.acquire() as conn:
                    key = await organisation.agent_id(conn, by)
                agent = await AgentStore(pool).agent(str(key))
                if agent is None:
                    raise _fail(f"--by: no active agent {by}")
            try:
                return await act(review, agent)
            except (Unknown, BadValue, Forbidden, ActionRefused) as refused:
                raise _fail(str(refused)) from None

    return main


@review_cli.command("list")
def list_items(
    brand: Annotated[str | None, typer.Option(help="A brand's slug.")] = None,
    status: Annotated[str, typer.Option(help="open, reviewed, ignored or all.")] = "open",
    intent: Annotated[str | None, typer.Option(help="Predicted (or given) intent.")] = None,
    band: Annotated[str | None, typer.Option(help="Confidence: low, medium or high.")] = None,
    reason: Annotated[
        str | None, typer.Option(help="low_confidence, fallback, handoff or flagged.")
    ] = None,
    language: Annotated[str | None, typer.Option(help="The message's language.")] = None,
    channel: Annotated[str | None, typer.Option(help="webchat, email, telegram, slack…")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="At most this many.")] = 50,
    before: Annotated[
        int | None, typer.Option(min=1, help="The next page: messages under this id.")
    ] = None,
    as_json: Json = False,
) -> None:
    """The messages the bot may have got wrong, newest first (default: open, last 30 days)."""
    import orjson

    from web_console.bot_review_port import InboxFilter

    for name, value, allowed in (
        ("--status", status, ("open", "reviewed", "ignored", "all")),
        ("--band", band, ("low", "medium", "high")),
        ("--reason", reason, ("low_confidence", "fallback", "handoff", "flagged")),
    ):
        if value is not None and value not in allowed:
            raise _fail(f"{name}: one of {', '.join(allowed)}")
    wanted = InboxFilter(
        brand=brand,
        intent=intent,
        band=band,
        language=language,
        channel=channel,
        status=status,
        reason=reason,
        start=_day(start, "--from"),
        end=_day(end, "--to"),
        before=before,
        limit=limit,
    )

    async def act(review: BotReview, agent: Agent) -> None:
        page = await review.items(agent, wanted)
        if as_json:
            typer.echo(orjson.dumps(page, option=orjson.OPT_INDENT_2).decode())
            return
        if not page.items:
            typer.echo("nothing to review")
            return
        typer.echo(
            f"{'id':>8}  {'when':16}  {'channel':8} {'lang':4} {'intent':22} conf  why / text"
        )
        for shown in page.items:
            i = shown.item
            why = ",".join(i.reasons)
            verdict = f" -> {i.verdict.intent or 'not for the bot'}" if i.verdict else ""
            typer.echo(
                f"{i.message_id:>8}  {i.at[:16]:16}  {i.channel:8} {i.language or '-':4}"
                f" {i.intent[:22]:22} {i.confidence:.2f}  {why}{verdict}"
            )
            typer.echo(f"{'':>10}{' '.join(i.text.split())[:100]}")
        if page.more is not None:
            typer.echo(f"more: --before {page.more}")

    run(_with_review(act, None))


@review_cli.command("label")
def label(
    messages: Ids,
    intent: Annotated[str, typer.Option(help="The intent these messages mean.")],
    by: By,
) -> None:
    """Give messages an intent: each is written as a training example of it in the project
    (a new intent is added with its name in the domain)."""

    async def act(review: BotReview, agent: Agent) -> None:
        done = await review.label(agent, messages, intent, [])
        where = f" in {done.written_to}" if done.written_to else " (already examples)"
        version = f", version {done.version}" if done.version else ""
        typer.echo(f"labelled {done.labelled} as {intent}{where}{version}")

    run(_with_review(act, by))


@review_cli.command("ignore")
def ignore(messages: Ids, by: By) -> None:
    """Mark messages "not for the bot": they leave the inbox and never become examples."""

    async def act(review: BotReview, agent: Agent) -> None:
        done = await review.label(agent, messages, None, [])
        typer.echo(f"marked {done.labelled} not for the bot")

    run(_with_review(act, by))
