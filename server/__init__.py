"""Switchboard's top floor: the one package that imports ``channels``, ``nlu``, ``routing`` and
``web_console``, and that nothing imports.

Its sub-packages follow a message's flow; each imports only the layers listed before it (the
import-linter contracts in ``pyproject.toml`` keep the order; ``make lint`` runs them):

1. the kernel, modules here: ``settings``, ``errors``, ``events``, ``metrics``, ``logs``,
   ``workers``, and under them ``payloads`` (the typed values that travel);
2. ``store``: all SQL (the pool, migrations and every query); the only importer of asyncpg;
3. ``live``: the event bus and presence, local and Redis adapters side by side;
4. ``dispatch``: the priority router's I/O and the periodic sweeps;
5. ``pipeline``: ingest, understand and decide, replies, and the bot;
6. ``delivery``: the outbox and the retry of remote APIs;
7. ``services``: per channel, incoming and send; the console's and web chat's backends;
8. ``bootstrap``: the composition root, the only module that picks concrete adapters;
9. ``http``: the Starlette app, its routes and the one map from our errors to statuses;
10. ``cli``: the ``switchboard`` command, imported by nothing.
"""
