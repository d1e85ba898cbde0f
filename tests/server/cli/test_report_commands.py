"""`switchboard report` as a real process against a real Postgres holding a scripted history:
the summary's figures are the ones docs/metrics.md gives by hand, the tables export as the
API's CSV (formula-quoted), and a bad date, range, zone or brand is one line and exit 2."""

from __future__ import annotations

import csv
import io
import json

import asyncpg
import pytest

from server.services import demo
from tests.server.cli.test_main import switchboard
from tests.server.store.history import Story, write

STORIES = [
    # Answered by the bot alone, resolved long ago: contained.
    Story(0, bot_reply=2, resolved=60, channel="telegram"),
    # Handed off, answered by an agent 300 s after the handoff, resolved at 3600 s, rated 5.
    Story(
        3600,
        bot_reply=3,
        handoff=60,
        assigned=120,
        agent_reply=300,
        resolved=3600,
        rating=5,
        band="normal",
    ),
    # Answered at 900 s, resolved at 7200 s, rated 3, a first-response breach; on email.
    Story(
        7200,
        bot_reply=5,
        handoff=30,
        reason="low_confidence",
        assigned=60,
        agent_reply=900,
        resolved=7200,
        rating=3,
        band="high",
        breaches=("first_response",),
        channel="email",
        intent="=SUM(A1)",
    ),
]
RANGE = ("--brand", demo.BRAND_SLUG, "--from", "2026-03-02", "--to", "2026-03-08")


@pytest.fixture
async def history(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for story in STORIES:
            await write(conn, story)


async def test_summary_prints_the_headline_figures(dsn: str, history: None) -> None:
    done = switchboard(dsn, "report", "summary", *RANGE)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: " ".join(line.split()[1:]) for line in done.stdout.splitlines()[2:]}
    assert lines["conversations"] == "3"
    # Human first responses 300 and 900: median 600 s, p90 300 + 0.9 x 600.
    assert (lines["frt_human_p50"], lines["frt_human_p90"]) == ("10m 00s", "14m 00s")
    assert lines["resolution_p50"] == "1h 00m"
    assert (lines["containment_rate"], lines["handoff_rate"]) == ("33.3%", "66.7%")
    assert lines["csat_average"] == "4.0"
    assert (lines["frt_attainment"], lines["resolution_attainment"]) == ("50.0%", "100.0%")
    assert lines["reopen_rate"] == "0.0%"


async def test_summary_as_json_has_every_figure(dsn: str, history: None) -> None:
    done = switchboard(dsn, "report", "summary", *RANGE, "--tz", "Europe/Paris", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["brand"], document["from"], document["to"], document["tz"]) == (
        demo.BRAND_SLUG,
        "2026-03-02",
        "2026-03-08",
        "Europe/Paris",
    )
    figures = document["figures"]
    assert figures["conversations"] == 3
    assert (figures["frt_human_p50"], figures["frt_human_p90"]) == (600.0, 840.0)
    assert figures["csat_response_rate"] == 1.0  # both conversations asked answered
    assert figures["csat_average"] == 4.0


async def test_the_only_brand_needs_no_brand_option(dsn: str, history: None) -> None:
    done = switchboard(dsn, "report", "summary", *RANGE[2:], "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["brand"], document["figures"]["conversations"]) == (demo.BRAND_SLUG, 3)


async def test_tables_export_as_the_apis_csv(dsn: str, history: None) -> None:
    by_channel = switchboard(dsn, "report", "breakdown", "--by", "channel", *RANGE, "--csv")
    assert by_channel.returncode == 0, by_channel.stderr
    rows = list(csv.DictReader(io.StringIO(by_channel.stdout)))
    assert {r["key"]: r["conversations"] for r in rows} == {
        "webchat": "1",
        "telegram": "1",
        "email": "1",
    }
    reasons = switchboard(dsn, "report", "handoff-reasons", *RANGE, "--csv")
    assert reasons.returncode == 0, reasons.stderr
    assert reasons.stdout.splitlines() == [
        "reason,conversations,rate,share",
        "low_confidence,1,0.3333,0.5",  # of the 3 conversations, of the 2 handoffs
        "requested_human,1,0.3333,0.5",
    ]
    ratings = switchboard(dsn, "report", "csat", *RANGE)
    assert ratings.returncode == 0, ratings.stderr
    got = [line.split() for line in ratings.stdout.splitlines()[2:]]
    assert got == [["1", "0"], ["2", "0"], ["3", "1"], ["4", "0"], ["5", "1"]]


async def test_the_issues_form_without_a_command(dsn: str, history: None) -> None:
    """`switchboard report --from --to --brand --by team|agent|channel|intent [--csv]`, as
    issue 20 writes it: the breakdown's table; without --by, the summary."""
    by_channel = switchboard(dsn, "report", *RANGE, "--by", "channel", "--csv")
    assert by_channel.returncode == 0, by_channel.stderr
    same = switchboard(dsn, "report", "breakdown", "--by", "channel", *RANGE, "--csv")
    assert by_channel.stdout == same.stdout
    rows = list(csv.DictReader(io.StringIO(by_channel.stdout)))
    assert {r["key"]: r["conversations"] for r in rows} == {
        "webchat": "1",
        "telegram": "1",
        "email": "1",
    }
    by_team = switchboard(dsn, "report", *RANGE, "--by", "team")
    assert by_team.returncode == 0, by_team.stderr
    assert by_team.stdout.splitlines()[0].split()[:2] == ["label", "conversations"]
    summary = switchboard(dsn, "report", *RANGE)
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout == switchboard(dsn, "report", "summary", *RANGE).stdout
    wrong = switchboard(dsn, "report", *RANGE, "--by", "weather")
    assert (wrong.returncode, wrong.stderr.splitlines()[0][:12]) == (2, "error: --by:")
    misplaced = switchboard(dsn, "report", "--brand", demo.BRAND_SLUG, "csat")
    assert misplaced.returncode == 2
    assert "the options go after the command" in misplaced.stderr


async def test_csv_cells_that_look_like_formulas_are_quoted(dsn: str, history: None) -> None:
    """The reports' CSV is the API's: a cell a spreadsheet would run gets a leading quote."""
    by_intent = switchboard(dsn, "report", "breakdown", "--by", "intent", *RANGE, "--csv")
    assert by_intent.returncode == 0, by_intent.stderr
    keys = {r["key"] for r in csv.DictReader(io.StringIO(by_intent.stdout))}
    assert keys == {"'=SUM(A1)", "none"}


async def test_series_per_day(dsn: str, history: None) -> None:
    by_day = switchboard(dsn, "report", "series", *RANGE, "--json")
    assert by_day.returncode == 0, by_day.stderr
    table = json.loads(by_day.stdout)
    at, conversations = table["columns"].index("at"), table["columns"].index("conversations")
    assert [(r[at][:10], r[conversations]) for r in table["rows"]] == [("2026-03-02", 3)]


async def test_the_conversations_behind_a_filter_and_the_queues_now(
    dsn: str, history: None
) -> None:
    behind = switchboard(
        dsn, "report", "conversations", *RANGE, "--filter", "channel:email", "--json"
    )
    assert behind.returncode == 0, behind.stderr
    table = json.loads(behind.stdout)
    channel = table["columns"].index("channel")
    assert (table["total"], [r[channel] for r in table["rows"]]) == (1, ["email"])
    email_only = switchboard(dsn, "report", "summary", *RANGE, "--filter", "channel:email")
    assert email_only.returncode == 0, email_only.stderr
    assert "conversations          1" in email_only.stdout
    queues = switchboard(dsn, "report", "now", "--brand", demo.BRAND_SLUG)
    assert queues.returncode == 0, queues.stderr
    assert "at_risk: 0" in queues.stdout.splitlines()


async def test_the_agents_time_online_lists_names_as_the_dashboard_does(
    dsn: str, pool: asyncpg.Pool, history: None
) -> None:
    """Most time online first, then names as a person reads them, the dashboard's order
    (dashboard.js, byTimeOnline): "Agent 9" before "Agent 10", accents and case aside. The
    database sorted the ties as text: "Agent 10" before "Agent 9", "émile" after "Zoë"."""
    names = ["Agent 10", "Zoë Adams", "émile Blanc", "Agent 9", "agent 2", "Agent 100"]
    async with pool.acquire() as conn:
        brand = await conn.fetchval("SELECT id FROM brands WHERE slug = $1", demo.BRAND_SLUG)
        for n, name in enumerate(names):
            agent = await conn.fetchval(
                "INSERT INTO agents (email, name, password_hash) VALUES ($1, $2, 'x') RETURNING id",
                f"natural-{n}@example.test",
                name,
            )
            await conn.execute(
                "INSERT INTO brand_roles (agent_id, brand_id, role) VALUES ($1, $2, 'agent')",
                agent,
                brand,
            )
            if name == "Agent 100":  # online an hour of the range: first, whatever its name
                await conn.execute(
                    "INSERT INTO agent_status_changes (agent_id, status, at) VALUES"
                    " ($1, 'online', '2026-03-03T09:00Z'), ($1, 'offline', '2026-03-03T10:00Z')",
                    agent,
                )
    done = switchboard(dsn, "report", "agent-time", *RANGE, "--csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["agent", "online_seconds", "away_seconds"]
    assert [r[0] for r in rows[1:] if r[0] in names] == [
        "Agent 100",
        "agent 2",
        "Agent 9",
        "Agent 10",
        "émile Blanc",
        "Zoë Adams",
    ]
    assert rows[1][:2] == ["Agent 100", "3600"]
    text = switchboard(dsn, "report", "agent-time", *RANGE)
    assert text.returncode == 0, text.stderr
    header, _rule, *lines = text.stdout.splitlines()
    shown = [line[: header.index("online_seconds")].rstrip() for line in lines]
    assert [n for n in shown if n in names][:3] == ["Agent 100", "agent 2", "Agent 9"]


async def test_the_conversations_behind_a_handoff_reason(dsn: str, history: None) -> None:
    """`report conversations --handoff-reason`: a row of `report handoff-reasons`; a reason
    neither known nor recorded is one line naming the reasons, exit 2."""
    behind = switchboard(
        dsn, "report", "conversations", *RANGE, "--handoff-reason", "low_confidence", "--json"
    )
    assert behind.returncode == 0, behind.stderr
    table = json.loads(behind.stdout)
    channel = table["columns"].index("channel")
    assert (table["total"], [r[channel] for r in table["rows"]]) == (1, ["email"])
    wrong = switchboard(dsn, "report", "conversations", *RANGE, "--handoff-reason", "mood")
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("error: --handoff-reason: 'mood' is not a handoff reason")
    assert len(wrong.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2026-02-30"), "error: --from: '2026-02-30' is not a date (YYYY-MM-DD)"),
        (("--from", "2026-03-09", "--to", "2026-03-02"), "error: --to: 2026-03-02 comes before"),
        (("--from", "2024-01-01", "--to", "2026-03-02"), "error: --to: a range of at most 366"),
        (("--tz", "Mars/Olympus"), "error: --tz: 'Mars/Olympus' is not a time zone"),
        (("--brand", "nobody"), "error: no brand 'nobody'"),
        (("--by", "weather"), "error: --by: one of team, agent, channel"),
        (("--filter", "weather:rain"), "error: --filter: the breakdown is one of team,"),
        (("--filter", "channel"), "error: --filter: breakdown:value (e.g. channel:email)"),
    ],
)
async def test_bad_input_is_one_line_and_exit_2(
    dsn: str, args: tuple[str, ...], message: str
) -> None:
    command = "breakdown" if "--by" in args else "summary"
    brand = () if "--brand" in args else ("--brand", demo.BRAND_SLUG)
    done = switchboard(dsn, "report", command, *brand, *args)
    assert done.returncode == 2, done.stdout
    assert done.stderr.startswith(message), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


async def test_the_agents_load_per_hour_as_csv(dsn: str, history: None) -> None:
    """Assigned at 10:03, resolved at 11:00: 57 minutes of the 10:00 hour; assigned at
    11:01:30, resolved at 13:00: most of 11:00 and all of 12:00."""
    done = switchboard(dsn, "report", "agent-load", "--bucket", "hour", "--csv", *RANGE)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["at", "agent_id", "agent", "average_held", "peak_held"]
    assert [(r[0], r[3], r[4]) for r in rows[1:]] == [
        ("2026-03-02T10:00:00", "0.95", "1"),
        ("2026-03-02T11:00:00", "0.975", "1"),
        ("2026-03-02T12:00:00", "1.0", "1"),
    ]
    refused = switchboard(dsn, "report", "agent-load", "--filter", "channel:email", *RANGE)
    assert refused.returncode == 2
    assert "only agent:<id>" in refused.stderr
