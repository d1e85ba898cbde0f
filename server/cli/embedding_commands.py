"""`switchboard embeddings backfill`: embed the customer messages stored before suggested
replies existed (or while no node ran), as the server's embedding worker does after each
message (server/services/embedder.py). Safe to run beside a running server: a message
embedded twice keeps its first vector."""

from __future__ import annotations

import time

import typer

from server.cli.command import run
from server.cli.command import settings as cli_settings

embeddings_cli = typer.Typer(help="Message embeddings for suggested replies.", no_args_is_help=True)


@embeddings_cli.command("backfill")
def backfill() -> None:
    """Embed every customer message that has no embedding yet; print how many and how fast."""
    from server import bootstrap
    from server.services.embedder import Embedder, WordLlamaEmbedder

    settings = cli_settings()

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool:
            started = time.perf_counter()
            stored = await Embedder(pool, WordLlamaEmbedder()).embed_pending()
            seconds = time.perf_counter() - started
            print(f"embedded {stored} messages in {seconds:.1f} s")

    run(main)
