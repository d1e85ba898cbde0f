"""How big each part of `make bench` runs, read once from the environment.

BENCH_SIZE=full (the default) gives the sizes the figures in bench/RESULTS.md were measured
with. BENCH_SIZE=smoke runs every part with a few messages and well under a second per step:
it shows that the parts start, finish and print their figures (tests/bench runs it under
`make test`); such figures mean nothing, so a smoke run leaves bench/RESULTS.md as it is.
Each size can still be set alone by its own variable, whatever BENCH_SIZE says.
"""

from __future__ import annotations

import os

SIZE = os.environ.get("BENCH_SIZE", "full")
if SIZE not in ("full", "smoke"):
    raise SystemExit(f"BENCH_SIZE is full or smoke, not {SIZE!r}")
SMOKE = SIZE == "smoke"


def _size(name: str, full: str, smoke: str) -> str:
    return os.environ.get(name, smoke if SMOKE else full)


# The transport part (bench/__main__.py): idle sockets per server, then load steps.
# Smoke: more sessions per server than the web chat's default per-address limit (30 a
# minute), so a limit the benchmark forgets to lift fails the smoke check too.
IDLE = int(_size("BENCH_IDLE", "10000", "40"))
SECONDS = float(_size("BENCH_SECONDS", "5", "0.5"))
RATES = [
    float(r)
    for r in _size("BENCH_RATES", "500,1000,1500,2000,2500,3000,4000,6000", "20,40").split(",")
]
# 1,000 customers at 2 msg/s each at the target rate: with 100 at 20-60 msg/s each, a widget
# connection's one message at a time (each stored before the next is read) capped the node
# near 2,700 msg/s with nothing refused, a bound of the generator's shape, not the node's.
CUSTOMERS = int(_size("BENCH_CUSTOMERS", "1000", "4"))
# bench/routing.py: queued conversations (at most AGENTS x CAPACITY, so one pass places them
# all), agents, and handoffs measured one at a time.
QUEUED = int(_size("BENCH_QUEUED", "1000", "20"))
AGENTS = int(_size("BENCH_AGENTS", "100", "4"))
CAPACITY = 10
STEADY = int(_size("BENCH_STEADY", "200", "5"))
# Rounds of the routing part's baselines and burst, alternated: one round takes under a
# second each, so a single one moved by half with the machine's other work (2026-12-07).
ROUTING_ROUNDS = int(_size("BENCH_ROUTING_ROUNDS", "5", "1"))
# bench/mail.py, and the seconds wrk drives each scenario of bench/webhooks.py: 5, so the
# flood fits the holding area (100,000 waiting; 10 s filled it on the EPYC, and past it the
# part measured the drain, 277 a second for Slack, not the acknowledgement). Whole seconds.
MAILS = int(_size("BENCH_MAILS", "1000", "10"))
WEBHOOK_SECONDS = int(_size("BENCH_WEBHOOK_SECONDS", "5", "1"))
# bench/startup.py: runs of each CLI command, warm starts of the server, and cold ones (each
# cold start initialises a fresh data directory: PostgreSQL, the schema, the bot's model).
CLI_RUNS = int(_size("BENCH_CLI_RUNS", "10", "2"))
WARM_STARTS = int(_size("BENCH_WARM_STARTS", "5", "1"))
COLD_STARTS = int(_size("BENCH_COLD_STARTS", "3", "1"))
# bench/fsync.py: small writes, each followed by fsync, for the machine line.
FSYNCS = int(_size("BENCH_FSYNCS", "500", "20"))
# bench/nlu.py: cross-validation folds, and how many examples are parsed for the latency
# (0: all of them). A smoke run scores Rasa with the model `make rasa-model` cached instead
# of training it BENCH_NLU_FOLDS times (about three minutes here).
FOLDS = int(_size("BENCH_NLU_FOLDS", "3", "2"))
PARSES = int(_size("BENCH_NLU_PARSES", "0", "20"))


# bench/suggestions.py: resolved conversations stored (a customer message and a reply each),
# and open conversations asking for suggestions one at a time.
SUGGESTION_MESSAGES = int(_size("BENCH_SUGGESTION_MESSAGES", "100000", "2000"))
SUGGESTION_QUERIES = int(_size("BENCH_SUGGESTION_QUERIES", "200", "10"))
# bench/fanout.py: consoles connected, conversations one router pass assigns, and the backlog
# a queue read returns besides them.
FANOUT_CONSOLES = int(_size("BENCH_FANOUT_CONSOLES", "50", "3"))
FANOUT_ASSIGNED = int(_size("BENCH_FANOUT_ASSIGNED", "100", "5"))
FANOUT_BACKLOG = int(_size("BENCH_FANOUT_BACKLOG", "1000", "10"))
# bench/search.py: messages stored, and searches made one at a time.
SEARCH_MESSAGES = int(_size("BENCH_SEARCH_MESSAGES", "1000000", "2000"))
SEARCH_QUERIES = int(_size("BENCH_SEARCH_QUERIES", "200", "8"))
# bench/first_paint.py: open conversations, agents' consoles connected, and page loads timed.
PAINT_OPEN = int(_size("BENCH_PAINT_OPEN", "5000", "20"))
PAINT_AGENTS = int(_size("BENCH_PAINT_AGENTS", "200", "3"))
PAINT_LOADS = int(_size("BENCH_PAINT_LOADS", "3", "1"))


def describe() -> str:
    """The sizes that differ from a full run's, for a figures line ("" when none do)."""
    return "BENCH_SIZE=smoke (figures meaningless, not written)" if SMOKE else ""
