"""`make bench`'s search part: how long the console's search box waits over 1,000,000 stored
messages, on an embedded Postgres, with the GIN index over the messages' stored words, each
message's in its language's configuration (migrations 0021 and 0025), and the conversations
indexed by customer and by activity (0022).

Data: 100,000 conversations of the demo brand spread over its three teams, ten messages each
(1,000,000 messages): the NLU project's example texts (English and French), alternately the
customer's and the agent's, each made distinct by an order number. A conversation is in one
language: its texts are the examples the product's language detection puts in that language
(nlu/language.py), the customer's messages carry it, the agent's carry none (they are stemmed
in the conversation's, as in the product). They are loaded as migration 0024 left the schema,
with the index dropped and built again (a bulk load's way; the build time is a figure), then
migration 0025 is applied to them, timed: what upgrading a deployment with a million messages
costs (it stems every English and French message again and rebuilds the index), then the
VACUUM that reclaims the old row versions it leaves (timed too). Then ANALYZE.

Then 200 searches, one at a time, through ``server.store.search.search`` (what the endpoint
calls after its access check), of five kinds in turn: a common word (English or French, some
inflected: "orders", "commandes"; not a stop word, which a stemmed search ignores), a word of a
few intents, a quoted phrase, an order number (one hit) and a customer (a first name 50 of the
1,000 customers share, a whole name, an address); half as a supervisor of the brand (every
conversation), half as an agent of one team (the reach filter in the query). Figures: p50/p99
overall and per kind.

BENCH_SEARCH_MESSAGES and BENCH_SEARCH_QUERIES set the sizes (bench/sizes.py). Run alone with
`python -m bench.search` or BENCH_ONLY=search.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from bench.report import machine, percentile, publish
from bench.sizes import SEARCH_MESSAGES, SEARCH_QUERIES
from nlu.language import LanguageDetection
from nlu.project import load_project
from server.services import demo
from server.settings import DEFAULT_NLU_PROJECT
from server.store import database
from server.store.search import search
from web_console.access import Reach

START, END = "<!-- search:start -->", "<!-- search:end -->"
PER_CONVERSATION = 10
CHUNK = 10_000  # conversations inserted per statement
INDEX = "messages_search"
# The migration measured on the loaded messages (applied after the load, not before it).
MEASURED = 25
KINDS = ("common word", "rarer word", "quoted phrase", "order number", "customer name")
# The 1,000 customers are every first name with every surname: a first name is shared by 50
# of them (5,000 conversations), a whole name or an address names one (100 conversations).
FIRST = (
    "Maria",
    "James",
    "Sofia",
    "Lucas",
    "Emma",
    "Noah",
    "Chloe",
    "Hugo",
    "Lea",
    "Adam",
    "Ines",
    "Paul",
    "Alice",
    "Louis",
    "Jade",
    "Jules",
    "Zoe",
    "Arthur",
    "Lina",
    "Tom",
)
LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David",
        "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "Andre", "Mercier",
        "Dupont", "Lambert", "Bonnet", "Francois", "Martinez", "Legrand", "Garnier", "Faure",
        "Rousseau", "Blanc", "Guerin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin",
        "Morin", "Mathieu", "Clement", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier",
        "Robin", "Masson")  # fmt: skip


def customer(n: int) -> tuple[str, str]:
    """The n-th customer's name and address."""
    first, last = FIRST[n % len(FIRST)], LAST[n // len(FIRST) % len(LAST)]
    return f"{first} {last}", f"{first}.{last}{n}@example.com".lower()


async def seed(pool: asyncpg.Pool, count: int) -> tuple[str, str, list[int], str]:
    """``count`` messages; the brand's id, the support team's id, some order numbers, and the
    statement that builds the search index again (dropped for the load)."""
    await demo.seed(pool)
    project = load_project(DEFAULT_NLU_PROJECT)
    rng = random.Random(14)
    detection = LanguageDetection()
    by_language: dict[str, list[str]] = {}
    for example in project.examples:
        found = detection.detect(example.text).language
        language = found or detection.best_among(example.text, frozenset({"en", "fr"})) or "en"
        by_language.setdefault(language, []).append(example.text)
    # Conversations in each language in the proportions of the examples.
    languages = [lang for lang, texts in by_language.items() for _ in texts]
    brand = await pool.fetchval("SELECT id FROM brands WHERE slug = $1", demo.BRAND_SLUG)
    inbox = await pool.fetchval("SELECT id FROM inboxes WHERE address = $1", demo.WEBCHAT_INBOX)
    teams = [r["id"] for r in await pool.fetch("SELECT id FROM teams WHERE brand_id = $1", brand)]
    support = await pool.fetchval(
        "SELECT id FROM teams WHERE brand_id = $1 AND slug = 'support'", brand
    )
    people = [customer(n) for n in range(len(FIRST) * len(LAST))]
    contacts = [
        r["id"]
        for r in await pool.fetch(
            "INSERT INTO contacts (brand_id, name, email) SELECT $1, n, e"
            " FROM unnest($2::text[], $3::text[]) AS u(n, e) RETURNING id",
            brand,
            [name for name, _ in people],
            [email for _, email in people],
        )
    ]
    build = await pool.fetchval("SELECT indexdef FROM pg_indexes WHERE indexname = $1", INDEX)
    await pool.execute(f"DROP INDEX {INDEX}")
    conversations = max(1, count // PER_CONVERSATION)
    orders: list[int] = []
    for start in range(0, conversations, CHUNK):
        size = min(CHUNK, conversations - start)
        ids = [uuid.uuid4() for _ in range(size)]
        spoken = [rng.choice(languages) for _ in range(size)]
        await pool.execute(
            """INSERT INTO conversations (id, brand_id, inbox_id, contact_id, channel, status,
                                          last_seq, resolved_at, language, team_id)
               SELECT i, $2, $3, c, 'webchat', 'resolved', $5, now(), l, t
                 FROM unnest($1::uuid[], $4::uuid[], $6::uuid[], $7::text[]) AS u(i, c, t, l)""",
            ids,
            brand,
            inbox,
            [contacts[n % len(contacts)] for n in range(size)],
            PER_CONVERSATION,
            [rng.choice(teams) for _ in range(size)],
            spoken,
        )
        numbers = [rng.randrange(10**7, 10**8) for _ in range(size * PER_CONVERSATION)]
        orders += numbers[:: 10 * PER_CONVERSATION]
        await pool.execute(
            """INSERT INTO messages (conversation_id, seq, direction, author_kind, channel,
                                     text, language)
               SELECT i, s, CASE WHEN s % 2 = 1 THEN 'in' ELSE 'out' END,
                      CASE WHEN s % 2 = 1 THEN 'customer' ELSE 'agent' END,
                      'webchat', t, CASE WHEN s % 2 = 1 THEN l END
                 FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[]) AS u(i, s, t, l)""",
            [i for i in ids for _ in range(PER_CONVERSATION)],
            [s for _ in ids for s in range(1, PER_CONVERSATION + 1)],
            [
                f"{rng.choice(by_language[lang])} (order {numbers[n * PER_CONVERSATION + s]})"
                for n, lang in enumerate(spoken)
                for s in range(PER_CONVERSATION)
            ],
            [lang for lang in spoken for _ in range(PER_CONVERSATION)],
        )
    return str(brand), str(support), orders, build


async def measure(dsn: str) -> dict[str, float]:
    pool = await database.create_pool(dsn, min_size=1, max_size=2)
    try:
        # Every migration but the measured one and those after it: marked as applied, then
        # forgotten once the messages are in, so that ``migrate`` applies them to the load.
        later = [m for m in database.migrations() if m.version >= MEASURED]
        await pool.execute(
            """CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
                                               applied_at timestamptz NOT NULL DEFAULT now());
               """
        )
        await pool.executemany(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            [(m.version, m.name) for m in later],
        )
        await database.migrate(pool)
        started = time.perf_counter()
        brand, support, orders, build = await seed(pool, SEARCH_MESSAGES)
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        await pool.execute(build)
        built = time.perf_counter() - started
        await pool.execute("DELETE FROM schema_migrations WHERE version >= $1", MEASURED)
        started = time.perf_counter()
        await database.migrate(pool)
        migrated = time.perf_counter() - started
        # The migration leaves the old version of every row it stemmed again: autovacuum
        # would reclaim them while the searches run; an operator runs this after it.
        started = time.perf_counter()
        await pool.execute("VACUUM (ANALYZE) messages")
        vacuumed = time.perf_counter() - started
        await pool.execute("ANALYZE")
        stored = await pool.fetchval("SELECT count(*) FROM messages")
        rng = random.Random(41)
        queries = {
            "common word": ["order", "orders", "account", "commande", "commandes", "compte"],
            "rarer word": ["refund", "password", "damaged", "invoice", "cancel", "livraison"],
            "quoted phrase": [
                '"my order"',
                '"reset my password"',
                '"where is my package"',
                '"ma commande"',
            ],
            "order number": [str(n) for n in orders],
            "customer name": [
                *FIRST,
                *(customer(n)[0] for n in range(0, 1000, 97)),
                *(customer(n)[1] for n in range(0, 1000, 89)),
            ],
        }
        supervisor = Reach(False, (brand,), (), (), str(uuid.uuid4()))
        agent = Reach(False, (), (brand,), (support,), str(uuid.uuid4()))
        async with pool.acquire() as conn:
            await search(conn, "order", supervisor, None)  # the first query plans
            times: dict[str, list[float]] = {kind: [] for kind in KINDS}
            hits = 0
            for n in range(SEARCH_QUERIES):
                kind = KINDS[n % len(KINDS)]
                reach = supervisor if n % 2 == 0 else agent
                began = time.perf_counter()
                page = await search(conn, rng.choice(queries[kind]), reach, None)
                times[kind].append((time.perf_counter() - began) * 1000)
                hits += bool(page["messages"] or page["conversations"])
        every = [t for kind in KINDS for t in times[kind]]
        figures = {
            "stored": float(stored),
            "seeded": seeded,
            "built": built,
            "migrated": migrated,
            "vacuumed": vacuumed,
            "p50": statistics.median(every),
            "p99": percentile(every, 0.99),
            "found": hits / SEARCH_QUERIES,
        }
        for kind in KINDS:
            figures[f"{kind} p50"] = statistics.median(times[kind])
            figures[f"{kind} p99"] = percentile(times[kind], 0.99)
        return figures
    finally:
        await pool.close()


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="sbsearch") as tmp:
        embedded = database.EmbeddedPostgres(Path(tmp))
        dsn = embedded.start()
        try:
            f = asyncio.run(measure(dsn))
        finally:
            embedded.stop()
    rows = [f"| {kind} | {f[f'{kind} p50']:.1f} / {f[f'{kind} p99']:.1f} ms |" for kind in KINDS]
    return "\n".join(
        [
            f"## Search — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            f"Command: `make bench` (or `python -m bench.search`). Machine: {machine()}"
            "; embedded PostgreSQL 16 (pgserver) on the same box."
            f" {f['stored']:,.0f} messages in {f['stored'] / PER_CONVERSATION:,.0f}"
            " conversations of one brand over three teams, in English and French; GIN index"
            " over the messages' stored words, each message's in its language's configuration"
            " (migrations 0021, 0025); conversations indexed by customer and by activity"
            " (0022);"
            f" {SEARCH_QUERIES} searches one at a time (server.store.search.search, first page),"
            " half as the brand's supervisor, half as an agent of one team.",
            "",
            "| search | p50 / p99 |",
            "|---|---:|",
            f"| all | {f['p50']:.1f} / {f['p99']:.1f} ms |",
            *rows,
            f"| searches that found something | {f['found']:.0%} |",
            f"| building the GIN index over the messages (as 0024 left it) | {f['built']:.0f} s |",
            f"| migration 0025 over them (stem again, rebuild the index) | {f['migrated']:.0f} s |",
            f"| VACUUM of the messages after it | {f['vacuumed']:.0f} s |",
            f"| loading the messages (not a product figure) | {f['seeded']:.0f} s |",
            "",
            "Target: p99 ≤ 200 ms on this machine.",
        ]
    )


def main() -> None:
    publish(run(), START, END)


if __name__ == "__main__":
    main()
