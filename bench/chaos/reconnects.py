"""The reconnect storm alone (issue 21's scenario 5), at sizes of your choosing, without the
rest of the traffic: ``python -m bench.chaos.reconnects 2000 5000 [--rounds N] [--profile]``.

A three-node cluster (no stand-ins, no NLU) is started once; for each count and round, the
bare baseline and then the cluster are stormed with the same clients (bench/chaos/storm.py):
the bare servers as many as the nodes, behind the same HAProxy configuration, dropped by the
same hard restart of the proxy; and, for reference, the bare servers reached directly and
replaced. Each line gives the rate (sockets back per second, and until 90 % were back) and the
serving side's CPU per reconnect (servers and proxy; for the cluster also Postgres and Redis),
which a busy machine does not stretch. ``--profile`` records node1 with py-spy during the
cluster's storms (raw collapsed stacks under the run's folder, kept).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.chaos import cpu, scenarios, storm
from bench.chaos.cluster import Cluster

# py-spy installs beside the venv's python (`.venv/bin/pip install py-spy`).
PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")


def _line(what: str, outcome: storm.Storm) -> str:
    ninety = "-" if math.isinf(outcome.seconds_90) else f"{outcome.rate_90:,.0f}/s"
    return (
        f"  {what:24} {outcome.back:>6,} of {outcome.of:<6,} in {outcome.seconds:6.1f} s"
        f" = {outcome.rate:6,.0f}/s (90 %: {ninety:>7}); {outcome.attempts:,} tries,"
        f" {outcome.failures:,} failed; serving CPU {outcome.cpu_ms_each:.2f} ms each"
        f" ({outcome.cpu:.1f} s); load {_load()}"
    )


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cluster_storm(
    cluster: Cluster, count: int, profile: Path | None, native: bool = False
) -> storm.Storm:
    crowd = storm.Crowd("switchboard", cluster.url, count)
    spy: subprocess.Popen[bytes] | None = None
    try:
        crowd.ready()
        if profile is not None:
            node = cluster.nodes[0]
            assert node.proc is not None
            spy = subprocess.Popen(
                [PY_SPY, "record", "-p", str(node.proc.pid), "-r", "200", "-f", "raw",
                 "-o", str(profile), *(["--native"] if native else ["--nonblocking"])],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        before = cpu.seconds(cluster.server_pids(proxy=False))
        cluster.restart_proxy()
        outcome = crowd.storm()
        used = cpu.seconds(cluster.server_pids()) - before
        return dataclasses.replace(outcome, cpu=used)
    finally:
        if spy is not None:
            spy.send_signal(2)  # py-spy writes its profile on SIGINT
            spy.wait(60)
        crowd.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("counts", nargs="+", type=int, help="idle sockets in a storm")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="py-spy on node1")
    parser.add_argument("--native", action="store_true", help="py-spy's C frames too")
    parser.add_argument("--no-direct", action="store_true", help="skip the direct baseline")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sbr", dir="/tmp"))
    size = scenarios.Size(idle=max(args.counts), customers=0)
    cluster = Cluster(
        root, telegram=False, slack=False, relay=False, env=scenarios.LOAD_ENV,
        proxies=scenarios.proxies(size),
    )  # fmt: skip
    print(f"cluster under {root}; {os.cpu_count()} cores; load {_load()}", flush=True)
    with cluster.running():
        for count in args.counts:
            for n in range(args.rounds):
                print(f"{count:,} idle sockets, round {n + 1}", flush=True)
                nodes = len(cluster.nodes)
                bare = storm.bare_storm(count, nodes, proxied=True)
                print(_line(f"bare x{nodes}, via HAProxy", bare), flush=True)
                if not args.no_direct:
                    direct = storm.bare_storm(count, nodes)
                    print(_line(f"bare x{nodes}, direct", direct), flush=True)
                profile = root / f"node1-{count}-{n + 1}.txt" if args.profile else None
                served = cluster_storm(cluster, count, profile, args.native)
                print(_line(f"cluster x{nodes}, HAProxy", served), flush=True)
                print(
                    f"  ratio {served.rate / bare.rate:.2f} (90 %:"
                    f" {served.rate_90 / bare.rate_90 if bare.rate_90 else 0:.2f}); CPU a"
                    f" reconnect {served.cpu_ms_each / max(bare.cpu_ms_each, 1e-9):.1f}x the"
                    f" bare's" + (f"; profile {profile}" if profile else ""),
                    flush=True,
                )


if __name__ == "__main__":
    main()
