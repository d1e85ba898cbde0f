"""``switchboard cluster up|down``: several nodes behind HAProxy on this machine (issue 21).

The cluster's control lives with the chaos harness (bench/chaos/cluster.py, which the cluster
tests reuse): it is a tool of the source checkout, like `make bench`, not of an installed
package, so this module imports it only when run, and says so when it is not there.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

cluster_cli = typer.Typer(
    help="Several nodes behind HAProxy on this machine (a source checkout).",
    no_args_is_help=True,
)
PID_FILE = "cluster.pid"


@cluster_cli.command("up")
def up(
    nodes: Annotated[int, typer.Option(min=1, max=9, help="How many Switchboard nodes.")] = 3,
    directory: Annotated[
        Path, typer.Option("--dir", help="Data, logs and the proxy's configuration.")
    ] = Path("var/cluster"),
    database_url: Annotated[
        str | None,
        typer.Option(help="A Postgres to share; unset: an embedded one under --dir."),
    ] = None,
    rasa_url: Annotated[str | None, typer.Option(help="A Rasa server; unset: bot off.")] = None,
    proxy: Annotated[
        str, typer.Option(help="The proxy in front: haproxy, or nginx (deploy/nginx.conf).")
    ] = "haproxy",
) -> None:
    """Start the cluster, print its URLs, and run until Ctrl-C or `switchboard cluster down`."""
    # An editable install puts only the packages on the path, not the checkout's bench/.
    checkout = str(Path(__file__).resolve().parents[2])
    if checkout not in sys.path:
        sys.path.append(checkout)
    try:
        from bench.chaos.cluster import Cluster
    except ImportError:
        typer.secho("error: the cluster runs from a source checkout (bench/chaos)", err=True)
        raise typer.Exit(2) from None
    root = directory.resolve()
    pid_file = root / PID_FILE
    if _running(pid_file):
        typer.secho(f"error: a cluster already runs from {root}", err=True)
        raise typer.Exit(2)
    if proxy not in ("haproxy", "nginx"):
        typer.secho(f"error: --proxy is haproxy or nginx, not {proxy!r}", err=True)
        raise typer.Exit(2)
    cluster = Cluster(root, size=nodes, database_url=database_url, rasa_url=rasa_url, proxy=proxy)

    def leave(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, leave)
    try:
        cluster.start()
        pid_file.write_text(str(os.getpid()))
        print(cluster.describe(), flush=True)
        print("Ctrl-C (or `switchboard cluster down`) stops it.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping the cluster", flush=True)
        cluster.stop()
        pid_file.unlink(missing_ok=True)


@cluster_cli.command("down")
def down(
    directory: Annotated[
        Path, typer.Option("--dir", help="The directory `cluster up` was given.")
    ] = Path("var/cluster"),
) -> None:
    """Stop the cluster `switchboard cluster up` runs from --dir (it stops its parts itself)."""
    pid_file = directory.resolve() / PID_FILE
    pid = _running(pid_file)
    if pid is None:
        typer.echo("no cluster runs from there")
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 90
    while _running(pid_file) and time.monotonic() < deadline:
        time.sleep(0.2)
    typer.echo("cluster stopped" if not _running(pid_file) else "cluster still stopping")


def _running(pid_file: Path) -> int | None:
    """The PID in ``pid_file`` when that process is alive."""
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid
