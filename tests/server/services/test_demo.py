"""The demo data `make run` seeds (`serve --demo`, `seed-demo`): two brands with separate
teams and people, so signing in as the outdoor brand's agent shows that brand only."""

from __future__ import annotations

import httpx

from server.services import demo
from tests.harness import RunningServer


async def test_the_demo_seeds_two_brands_with_separate_teams_and_people(
    server: RunningServer,
) -> None:
    pool = server.services.pool
    # What `make run` asks for; twice, as a restart does: nothing doubles.
    await demo.seed(pool, second_brand=True)
    await demo.seed(pool, second_brand=True)
    teams = await pool.fetch(
        "SELECT b.slug AS brand, t.slug AS team FROM teams t JOIN brands b ON b.id = t.brand_id"
        " ORDER BY 1, 2"
    )
    assert {(r["brand"], r["team"]) for r in teams} >= {
        (demo.BRAND_SLUG, "support"),
        (demo.BRAND_SLUG, "billing"),
        (demo.OTHER_BRAND_SLUG, "support"),
    }
    assert len(teams) == len({(r["brand"], r["team"]) for r in teams})
    async with httpx.AsyncClient(base_url=server.base_url) as noor:
        login = {"email": "noor@outdoor.switchboard.test", "password": demo.AGENT_PASSWORD}
        assert (await noor.post("/console/api/login", json=login)).status_code == 200
        me = (await noor.get("/console/api/me")).json()["agent"]
        outdoor = await pool.fetchval(
            "SELECT id::text FROM brands WHERE slug = $1", demo.OTHER_BRAND_SLUG
        )
        assert me["roles"] == {outdoor: ["agent"]}
        directory = (await noor.get("/console/api/directory")).json()
        assert {t["brand_id"] for t in directory["teams"]} == {outdoor}
