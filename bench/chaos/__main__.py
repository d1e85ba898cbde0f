"""`make chaos`: a three-node cluster, each fault in turn under full traffic, the table.

CHAOS_ONLY=kill,pg-down (names from ``scenarios.catalogue``) runs some; CHAOS_SIZE=reduced
runs the tests' sizes; CHAOS_PROXY=nginx puts nginx in front instead of HAProxy
(deploy/nginx.conf). Everything runs on loopback under a temporary folder (CHAOS_KEEP=1 keeps
it, with the nodes' and the proxy's logs).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.chaos import scenarios
from bench.chaos.cluster import Cluster
from bench.chaos.counts import Figures, table
from bench.chaos.fake_rasa import FakeRasa


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # A time limit's SIGTERM (`timeout` under the shared lock) stops the cluster as Ctrl-C
    # does: its nodes, proxy, Redis and embedded Postgres would outlive the run otherwise.
    signal.signal(signal.SIGTERM, _interrupt)
    size = scenarios.REDUCED if os.environ.get("CHAOS_SIZE") == "reduced" else scenarios.FULL
    rasa = FakeRasa()
    rasa.start()
    atexit.register(rasa.stop)  # also when interrupted (stopping twice is harmless)
    chosen = scenarios.catalogue(size, rasa)
    only = [name for name in os.environ.get("CHAOS_ONLY", "").split(",") if name]
    unknown = [name for name in only if name not in chosen]
    if unknown:
        print(f"unknown scenarios {unknown}; known: {', '.join(chosen)}", file=sys.stderr)
        return 2
    names = only or list(chosen)
    rows: list[Figures] = []
    # CHAOS_KEEP=1 keeps the run's folder (the nodes' and the proxy's logs) for a look after.
    keep = os.environ.get("CHAOS_KEEP") == "1"
    folder: contextlib.AbstractContextManager[str] = (
        contextlib.nullcontext(tempfile.mkdtemp(prefix="sbc", dir="/tmp"))
        if keep
        else tempfile.TemporaryDirectory(prefix="sbc", dir="/tmp")
    )
    with folder as root:
        if keep:
            print(f"kept: {root}", flush=True)
        cluster = Cluster(
            Path(root),
            rasa_url=rasa.url,
            env=scenarios.LOAD_ENV,
            proxy=os.environ.get("CHAOS_PROXY", "haproxy"),
            proxies=scenarios.proxies(size),
        )
        with cluster.running():
            print(cluster.describe(), flush=True)
            print(
                f"{size.customers} widgets (and {size.late} more as each fault begins),"
                f" {size.consoles} consoles, {size.mailers} mail"
                f" senders, {size.telegrams} Telegram and {size.slacks} Slack users; one message"
                f" each {size.interval:g} s; {size.idle:,} idle widgets in the storm",
                flush=True,
            )
            for name in names:
                title, fault = chosen[name]
                began = time.monotonic()
                for node in cluster.nodes:
                    if not node.running:
                        cluster.start_node(node)
                cluster.wait_proxy_ready()
                rows.append(asyncio.run(scenarios.run(cluster, title, fault, size)))
                print(f"\n{title}: {time.monotonic() - began:.0f} s", flush=True)
                print(table(rows), flush=True)
    rasa.stop()
    print("\n" + table(rows))
    return 0 if all(f.clean for f in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
