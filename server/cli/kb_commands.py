"""`switchboard kb import PATH` and `switchboard kb export`: the knowledge base's articles in
and out (the formats are in docs/knowledge-base.md and server/services/kb_import.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from server.cli.command import run
from server.cli.command import settings as cli_settings

kb_cli = typer.Typer(help="The knowledge base: import and export articles.", no_args_is_help=True)


@kb_cli.command("import")
def import_articles(
    path: Annotated[
        Path, typer.Argument(help="A folder of Markdown files, or a JSON export.", exists=True)
    ],
    brand: Annotated[
        str | None, typer.Option(help="The brand's slug, for articles that do not name one.")
    ] = None,
    language: Annotated[
        str, typer.Option(help="The language of articles that do not say theirs.")
    ] = "en",
    publish: Annotated[
        bool, typer.Option("--publish", help="Publish articles that do not give a status.")
    ] = False,
) -> None:
    """Create or update articles (a second import of the same files updates, never copies);
    prints what it did, every article it skipped (archived in Chatwoot) and every one it could
    not import, and exits 1 if there was one it could not import."""
    from rich.progress import Progress

    from server import bootstrap
    from server.errors import SwitchboardError
    from server.services.embedder import WordLlamaEmbedder
    from server.services.kb import Author, KnowledgeBase
    from server.services.kb_import import Skipped, Unreadable, read

    settings = cli_settings()
    items = list(read(path, language=language, publish=publish))
    failures = [f"{i.source}: {i.reason}" for i in items if isinstance(i, Unreadable)]
    skipped = [f"{i.source}: {i.reason}" for i in items if isinstance(i, Skipped)]
    articles = [i for i in items if not isinstance(i, Unreadable | Skipped)]
    counts = {"created": 0, "updated": 0, "unchanged": 0}

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool:
            kb = KnowledgeBase(pool, WordLlamaEmbedder())
            author = Author(None, f"import of {path.name}")
            with Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
                task = progress.add_task("importing", total=len(articles))
                for article in articles:
                    target = article.brand or brand
                    try:
                        if target is None:
                            raise SwitchboardError("no brand: give --brand or a brand field")
                        saved, written = await kb.put(target, article.draft, author, article.source)
                        kind = (
                            "unchanged"
                            if not written
                            else "created"
                            if saved.version == 1
                            else "updated"
                        )
                        counts[kind] += 1
                    except SwitchboardError as exc:
                        failures.append(f"{article.source}: {exc}")
                    progress.advance(task)

    run(main)
    print(
        ", ".join(f"{n} {kind}" for kind, n in counts.items())
        + (f", {len(skipped)} skipped" if skipped else "")
        + f", {len(failures)} failed"
    )
    for skip in skipped:
        typer.secho(f"skipped {skip}", err=True, fg="yellow")
    for failure in failures:
        typer.secho(failure, err=True, fg="red")
    if failures:
        raise typer.Exit(1)


@kb_cli.command("export")
def export_articles(
    brand: Annotated[str | None, typer.Option(help="Only this brand's articles.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write to this file instead of standard output.")
    ] = None,
) -> None:
    """Every article (drafts too) as Switchboard's JSON, which `kb import` reads back."""
    import orjson

    from server import bootstrap
    from server.services.embedder import WordLlamaEmbedder
    from server.services.kb import KnowledgeBase
    from server.services.kb_import import FORMAT

    settings = cli_settings()
    exported: list[dict[str, object]] = []

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool:
            kb = KnowledgeBase(pool, WordLlamaEmbedder())
            for a in await kb.articles(None, brand=brand):
                exported.append(
                    {
                        "brand": a.brand,
                        "language": a.language,
                        "slug": a.slug,
                        "title": a.title,
                        "body": a.body,
                        "category": a.category,
                        "tags": a.tags,
                        "status": a.status,
                        "source": a.source or f"json:{a.language}/{a.slug}",
                        "version": a.version,
                        "author": a.author_name,
                        "updated_at": a.updated_at.isoformat(),
                    }
                )

    run(main)
    document = orjson.dumps({"format": FORMAT, "articles": exported}, option=orjson.OPT_INDENT_2)
    if out is None:
        sys.stdout.buffer.write(document + b"\n")
    else:
        out.write_bytes(document + b"\n")
        print(f"exported {len(exported)} articles to {out}")
