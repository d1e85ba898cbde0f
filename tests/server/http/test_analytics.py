"""The reports' API on a running server: figures over a scripted history, each table as CSV
with formula-like cells made inert, the drill-down's pages, precise 422s, and who may read
which brand's reports (the access matrix covers every role; these check the answers)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import httpx
import pytest

from server.services import demo
from server.store import analytics_rollups
from tests.harness import RunningServer
from tests.server.store.history import Story, write
from tests.web_console.brands import person, signed_in

BASE = f"/console/api/analytics/brands/{demo.BRAND_SLUG}"
WEEK = {"from": "2026-03-02", "to": "2026-03-08"}


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    """An analyst of the demo brand, signed in, over a two-brand history."""
    await demo.seed_other_brand(server.services.pool)
    async with server.services.pool.acquire() as conn:
        await write(conn, Story(0, bot_reply=2, channel="telegram"))
        await write(
            conn,
            Story(
                3600,
                bot_reply=3,
                handoff=60,
                assigned=120,
                agent_reply=300,
                resolved=3600,
                rating=4,
                comment="ok",
                band="normal",
                channel="email",
            ),
            subject='=HYPERLINK("http://evil.test")',
        )
        await write(conn, Story(0, bot_reply=1, brand=demo.OTHER_BRAND_SLUG))
    client = await signed_in(server, await person(server, demo.BRAND_SLUG, "analyst"))
    try:
        yield client
    finally:
        await client.aclose()


def figures(body: dict[str, list[list[object]]]) -> dict[object, object]:
    return {row[0]: row[1] for row in body["rows"]}


async def test_an_analyst_reads_the_figures_and_each_table(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    got = figures((await http.get(f"{BASE}/summary", params=WEEK)).json())
    assert got["conversations"] == 2
    assert got["frt_human_p50"] == 300.0
    assert got["containment_rate"] == 0.5
    assert got["csat_average"] == 4.0
    by = (await http.get(f"{BASE}/breakdown", params={**WEEK, "by": "channel"})).json()
    assert [r[0] for r in by["rows"]] == ["email", "telegram"]
    email = figures(
        (await http.get(f"{BASE}/summary", params={**WEEK, "filter": "channel:email"})).json()
    )
    assert email["conversations"] == 1
    paris = await http.get(f"{BASE}/heat-map", params={**WEEK, "tz": "Europe/Paris"})
    assert paris.json()["rows"][0][:2] == [1, 10]  # 09:00 UTC is 10:00 in Paris in March
    days = (await http.get(f"{BASE}/series", params={**WEEK, "bucket": "hour"})).json()
    assert [r[0] for r in days["rows"]] == ["2026-03-02T09:00:00", "2026-03-02T10:00:00"]
    for path in ("heat-map", "handoff-reasons", "csat", "now", "agent-time", "agent-load"):
        answer = await http.get(f"{BASE}/{path}", params=WEEK)
        assert answer.status_code == 200, (path, answer.text)
    reasons = (await http.get(f"{BASE}/handoff-reasons", params=WEEK)).json()
    # The week's two conversations per channel and day (Monday 2 March): one each; the other
    # brand's is not counted.
    split = (await http.get(f"{BASE}/volume", params={**WEEK, "by": "channel"})).json()
    assert split["columns"] == ["at", "key", "label", "conversations"]
    assert split["rows"] == [
        ["2026-03-02T00:00:00", "email", "email", 1],
        ["2026-03-02T00:00:00", "telegram", "telegram", 1],
    ]
    one = (await http.get(f"{BASE}/volume", params={**WEEK, "by": "channel", "top": "1"})).json()
    assert [r[1] for r in one["rows"]] == ["email", "telegram"]  # one left over: itself
    exported = await http.get(f"{BASE}/volume", params={**WEEK, "by": "channel", "format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines()[:2] == [
        "at,key,label,conversations",
        "2026-03-02T00:00:00,email,email,1",
    ]
    # The ratings bar of 4: the email rated 4; none rated 5 (the other brand's has no rating).
    four = (await http.get(f"{BASE}/conversations", params={**WEEK, "rating": "4"})).json()
    assert (four["total"], [r[2] for r in four["rows"]]) == (1, ["email"])
    five = (await http.get(f"{BASE}/conversations", params={**WEEK, "rating": "5"})).json()
    assert (five["total"], five["rows"]) == (0, [])
    # One conversation handed off of the week's two (the reason's rate), the only handoff.
    assert reasons["columns"] == ["reason", "conversations", "rate", "share"]
    assert reasons["rows"] == [["requested_human", 1, 0.5, 1.0]]
    # Assigned at 10:03, resolved at 11:00: 57 minutes held in the 10:00 hour.
    load = (await http.get(f"{BASE}/agent-load", params={**WEEK, "bucket": "hour"})).json()
    assert load["columns"] == ["at", "agent_id", "agent", "average_held", "peak_held"]
    assert [(r[0], r[3], r[4]) for r in load["rows"]] == [("2026-03-02T10:00:00", 0.95, 1)]


async def test_every_table_downloads_as_csv_with_formulas_made_inert(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    for path in (
        "summary",
        "agent-time",
        "agent-load",
        "series",
        "heat-map",
        "handoff-reasons",
        "csat",
        "csat-comments",
        "now",
        "conversations",
    ):
        answer = await http.get(f"{BASE}/{path}", params={**WEEK, "format": "csv"})
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
    rows = list(
        csv.reader(
            io.StringIO(
                (await http.get(f"{BASE}/conversations", params={**WEEK, "format": "csv"})).text
            )
        )
    )
    assert rows[0][:4] == ["id", "created_at", "channel", "status"]
    assert rows[2][4] == '\'=HYPERLINK("http://evil.test")'


async def test_the_drill_down_pages_through_a_bar(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    bar = {**WEEK, "bucket": "day", "at": "2026-03-02T00:00:00", "limit": "1"}
    first = (await http.get(f"{BASE}/conversations", params=bar)).json()
    second = (await http.get(f"{BASE}/conversations", params={**bar, "offset": "1"})).json()
    assert first["total"] == second["total"] == 2
    assert [first["rows"][0][2], second["rows"][0][2]] == ["telegram", "email"]
    opened = await http.get(f"/console/api/conversations/{second['rows'][0][0]}")
    assert opened.status_code == 200


async def test_the_csat_comments_with_their_rating_agent_and_conversation(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    got = (await http.get(f"{BASE}/csat-comments", params=WEEK)).json()
    assert got["columns"] == [
        "conversation_id",
        "answered_at",
        "rating",
        "comment",
        "agent",
        "intent",
        "channel",
    ]
    assert got["total"] == 1
    [(conversation, _at, rating, comment, agent, _intent, channel)] = got["rows"]
    assert (rating, comment, channel) == (4, "ok", "email")
    assert agent
    assert (await http.get(f"/console/api/conversations/{conversation}")).status_code == 200
    telegram = {**WEEK, "filter": "channel:telegram"}
    assert (await http.get(f"{BASE}/csat-comments", params=telegram)).json()["total"] == 0
    exported = await http.get(f"{BASE}/csat-comments", params={**WEEK, "format": "csv"})
    assert list(csv.reader(io.StringIO(exported.text)))[1][2:4] == ["4", "ok"]


async def test_the_conversations_at_risk_now_are_those_now_counts(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with server.services.pool.acquire() as conn:
        late = await write(conn, Story(0, bot_reply=1, handoff=2))
        await write(conn, Story(0, bot_reply=1, handoff=2, brand=demo.OTHER_BRAND_SLUG))
        await conn.execute(
            "UPDATE conversations SET first_response_due = now() - interval '1 minute',"
            " queued_at = now() - interval '3 minutes' WHERE status = 'queued'"
        )
    now = (await http.get(f"{BASE}/now")).json()
    counted = now["at_risk"]
    # The story's conversation waits with no team: counted apart, with how long.
    assert now["unrouted"] == 1
    assert now["unrouted_wait_seconds"] >= 180
    listed = (await http.get(f"{BASE}/at-risk")).json()
    assert counted == len(listed["rows"]) == 1
    row = dict(zip(listed["columns"], listed["rows"][0], strict=True))
    assert (row["id"], row["status"], row["contact"]) == (str(late), "queued", "Customer 0")
    assert row["overdue_seconds"] >= 60
    exported = await http.get(f"{BASE}/at-risk", params={"format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    assert str(late) in exported.text
    assert (await http.get(f"{BASE}/at-risk", params={"limit": "0"})).status_code == 422


async def test_a_lists_csv_is_the_whole_list_not_a_page(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """The dashboard's "Download CSV" under the conversations behind a bar: all of them,
    where the JSON gives a page (50 by default)."""
    async with server.services.pool.acquire() as conn:
        for n in range(60):
            await write(conn, Story(7200 + n * 60, bot_reply=1))
    page = (await http.get(f"{BASE}/conversations", params=WEEK)).json()
    assert (len(page["rows"]), page["total"]) == (50, 62)
    whole = await http.get(f"{BASE}/conversations", params={**WEEK, "format": "csv"})
    assert len(list(csv.reader(io.StringIO(whole.text)))) == 1 + 62
    one = await http.get(f"{BASE}/conversations", params={**WEEK, "format": "csv", "limit": "1"})
    assert len(list(csv.reader(io.StringIO(one.text)))) == 1 + 1


async def test_a_rows_drill_down_lists_what_the_row_counted_under_the_filter(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """A breakdown's row of a filtered report counts only the filtered conversations: its
    drill-down (row=) lists those, not every conversation with the row's key."""
    for channel in ("email", "telegram"):
        only = {**WEEK, "filter": f"channel:{channel}"}
        for by in ("band", "agent", "intent"):
            rows = (await http.get(f"{BASE}/breakdown", params={**only, "by": by})).json()["rows"]
            for key, _label, counted, *_ in rows:
                listed = (
                    await http.get(f"{BASE}/conversations", params={**only, "row": f"{by}:{key}"})
                ).json()
                assert listed["total"] == counted, (channel, by, key)
                assert {r[2] for r in listed["rows"]} == {channel}
    # The telegram conversation has no band: not among the email report's rows.
    email_without = {**WEEK, "filter": "channel:email", "row": "band:none"}
    assert (await http.get(f"{BASE}/conversations", params=email_without)).json()["total"] == 0
    any_without = {**WEEK, "row": "band:none"}
    assert (await http.get(f"{BASE}/conversations", params=any_without)).json()["total"] == 1


async def test_a_handoff_reasons_row_lists_the_conversations_handed_off_for_it(
    server: RunningServer, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reasons table's drill-down (handoff_reason=): each row's conversations, as many
    as the row counts, within the report's filter and the viewer's brand; a reason the bot
    project named (Rasa's {"handoff": ...}) drills down too; "none" is a conversation an
    agent took with no handoff recorded; a reason neither known nor recorded is a 422 that
    lists the reasons, and a known one with nothing behind it an empty list. The reads go
    through the roll-ups' path (the row's count is the table's there), as at scale."""
    monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
    async with server.services.pool.acquire() as conn:
        low = await write(
            conn, Story(600, bot_reply=1, handoff=30, reason="low_confidence", channel="email")
        )
        named = await write(conn, Story(900, bot_reply=1, handoff=30, reason="order_lookup_failed"))
        # Taken by an agent who answered with no handoff recorded: handed, for no reason.
        taken = await write(conn, Story(1200, bot_reply=1))
        await conn.execute(
            "INSERT INTO messages (conversation_id, seq, direction, author_kind, channel, text,"
            " created_at) VALUES ($1, 3, 'out', 'agent', 'webchat', 'Let me help',"
            " (SELECT created_at + interval '1 minute' FROM conversations WHERE id = $1))",
            taken,
        )
        # Another brand's, for the same reasons: never listed.
        for reason in ("low_confidence", "requested_human", "order_lookup_failed"):
            await write(
                conn,
                Story(600, bot_reply=1, handoff=30, reason=reason, brand=demo.OTHER_BRAND_SLUG),
            )
        requested = await conn.fetchval(
            "SELECT id FROM conversations WHERE handoff_reason = 'requested_human'"
            " AND brand_id = (SELECT id FROM brands WHERE slug = $1)",
            demo.BRAND_SLUG,
        )
    expected = {
        "requested_human": {str(requested)},
        "low_confidence": {str(low)},
        "order_lookup_failed": {str(named)},
        "none": {str(taken)},
    }

    async def listed(params: dict[str, str]) -> tuple[int, set[str]]:
        answer = await http.get(f"{BASE}/conversations", params=params)
        assert answer.status_code == 200, (params, answer.text)
        body = answer.json()
        return body["total"], {r[0] for r in body["rows"]}

    table = (await http.get(f"{BASE}/handoff-reasons", params=WEEK)).json()
    assert {r[0]: r[1] for r in table["rows"]} == {k: len(v) for k, v in expected.items()}
    for reason, ids in expected.items():
        assert await listed({**WEEK, "handoff_reason": reason}) == (len(ids), ids), reason
    # Within the report's filter, as the filtered table counts: the email one alone.
    email = {**WEEK, "filter": "channel:email"}
    table = (await http.get(f"{BASE}/handoff-reasons", params=email)).json()
    assert [r[:2] for r in table["rows"]] == [["low_confidence", 1], ["requested_human", 1]]
    assert await listed({**email, "handoff_reason": "low_confidence"}) == (1, {str(low)})
    assert await listed({**email, "handoff_reason": "none"}) == (0, set())
    # With a bar or a row besides (counted one by one): the same conversations.
    bar = {**WEEK, "bucket": "day", "at": "2026-03-02T00:00:00"}
    assert await listed({**bar, "handoff_reason": "none"}) == (1, {str(taken)})
    row = {**WEEK, "row": "channel:webchat", "handoff_reason": "order_lookup_failed"}
    assert await listed(row) == (1, {str(named)})
    # A page at a time, and the whole list as CSV.
    two = {**WEEK, "handoff_reason": "requested_human", "limit": "1", "offset": "1"}
    assert await listed(two) == (1, set())
    exported = await http.get(
        f"{BASE}/conversations",
        params={**WEEK, "handoff_reason": "low_confidence", "format": "csv"},
    )
    assert [r[0] for r in csv.reader(io.StringIO(exported.text))] == ["id", str(low)]
    # A reason the server knows, with nothing behind it this week: an empty list.
    assert await listed({**WEEK, "handoff_reason": "vip"}) == (0, set())
    # Neither known nor recorded: a 422 naming the known ones and this range's own.
    wrong = await http.get(
        f"{BASE}/conversations", params={**WEEK, "handoff_reason": "requested_humans"}
    )
    assert wrong.status_code == 422
    error = wrong.json()["error"]
    assert error.startswith("handoff_reason: 'requested_humans' is not a handoff reason: one of")
    assert "requested_human," in error
    assert error.endswith("; in this range also order_lookup_failed")
    # Another brand's reasons are no key to its conversations: the same 404 as any of its
    # reports, and a mere agent of this brand gets no list at all.
    other = f"/console/api/analytics/brands/{demo.OTHER_BRAND_SLUG}/conversations"
    refused = await http.get(other, params={**WEEK, "handoff_reason": "low_confidence"})
    assert refused.status_code == 404
    agent = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent"))
    try:
        mine = await agent.get(
            f"{BASE}/conversations", params={**WEEK, "handoff_reason": "low_confidence"}
        )
    finally:
        await agent.aclose()
    assert mine.status_code == 403


async def test_bad_parameters_are_named(server: RunningServer, http: httpx.AsyncClient) -> None:
    cases = {
        "summary?from=2026-13-01": "from:",
        "summary?to=9999-12-31": "to: a date from 2000 to 2100",
        "summary?from=2026-03-08&to=2026-03-01": "to: must not come before from",
        "summary?from=2024-01-01&to=2026-03-01": "to: a range of at most 366 days",
        "summary?tz=Mars/Olympus": "tz:",
        "summary?filter=colour:red": "filter:",
        "summary?format=xml": "format:",
        "series?bucket=minute": "bucket:",
        "series?bucket=hour&from=2026-01-01&to=2026-03-01": "bucket: hourly",
        "breakdown": "by:",
        "breakdown?by=mood": "by:",
        "volume": "by:",
        "volume?by=mood": "by:",
        "volume?by=channel&top=0": "top:",
        "volume?by=channel&top=21": "top:",
        "volume?by=channel&top=two": "top:",
        "volume?by=channel&bucket=minute": "bucket:",
        "agent-load?filter=channel:email": "filter: only agent:<id>",
        "agent-load?filter=agent:nobody": "filter: 'nobody' is not an agent's id",
        "agent-load?bucket=minute": "bucket:",
        "conversations?at=yesterday": "at:",
        "conversations?at=2026-03-02T00:00:00%2B01:00": "at:",
        "conversations?limit=0": "limit:",
        "conversations?offset=-1": "offset:",
        "conversations?limit=201": "limit:",
        "csat-comments?limit=201": "limit:",
        "conversations?row=colour:red": "row:",
        "conversations?breached=yes": "breached:",
        "conversations?rating=0": "rating:",
        "conversations?rating=6": "rating:",
        "conversations?rating=4.5": "rating:",
        "conversations?handoff_reason=mood": "handoff_reason: 'mood' is not a handoff reason",
        f"conversations?handoff_reason={'x' * 201}": "handoff_reason: at most 200 characters",
    }
    for query, error in cases.items():
        answer = await http.get(f"{BASE}/{query}")
        assert answer.status_code == 422, (query, answer.text)
        assert answer.json()["error"].startswith(error), (query, answer.json())


async def test_other_brands_and_other_roles_are_refused(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    other = await http.get(f"/console/api/analytics/brands/{demo.OTHER_BRAND_SLUG}/summary")
    assert other.status_code == 404
    assert (await http.get("/console/api/analytics/brands/nope/summary")).status_code == 404
    listed = (await http.get("/console/api/analytics/brands")).json()["brands"]
    assert [b["slug"] for b in listed] == [demo.BRAND_SLUG]
    agent = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent"))
    refused = [await agent.get(f"{BASE}/summary"), await agent.get("/console/api/analytics/brands")]
    await agent.aclose()
    assert [r.status_code for r in refused] == [403, 403]
    admin = await signed_in(server, await person(server, demo.BRAND_SLUG, "admin"))
    theirs = await admin.get(
        f"/console/api/analytics/brands/{demo.OTHER_BRAND_SLUG}/summary", params=WEEK
    )
    await admin.aclose()
    assert figures(theirs.json())["conversations"] == 1


async def test_the_routes_are_documented(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        paths = (await http.get("/openapi.json")).json()["paths"]
    series = paths["/console/api/analytics/brands/{brand}/series"]["get"]
    names = [p["name"] for p in series["parameters"]]
    assert {"brand", "from", "to", "tz", "filter", "format", "bucket"} <= set(names)
    assert "422" in series["responses"]


async def test_the_definitions_page_has_an_anchor_per_section(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    page = await http.get("/console/api/analytics/definitions")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for anchor in (
        "speed",
        "bot",
        "quality",
        "sla",
        "agents",
        "load",
        "now",
        "a-reopened-conversation",
    ):
        assert f'id="{anchor}"' in page.text
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        assert (await anonymous.get("/console/api/analytics/definitions")).status_code == 401


async def test_hourly_buckets_count_the_viewers_calendar_days(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """A month of 31 days across a clock change (31 days and an hour in UTC) may be read per
    hour, as the dashboard offers it; 32 days may not."""
    october = {"from": "2026-10-01", "to": "2026-10-31", "tz": "Europe/Berlin", "bucket": "hour"}
    assert (await http.get(f"{BASE}/series", params=october)).status_code == 200
    longer = {**october, "to": "2026-11-01"}
    answer = await http.get(f"{BASE}/series", params=longer)
    assert answer.status_code == 422
    assert "bucket: hourly" in answer.text
