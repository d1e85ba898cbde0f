"""The console's knowledge-base API against a real server: an editor writes and publishes,
and the article is at once in the public search and the help center; an agent reads but
does not write; each save is a version with its author."""

from __future__ import annotations

from contextlib import aclosing as closing

import httpx

from server.services import demo
from tests.harness import RunningServer
from tests.web_console.brands import person, signed_in

ARTICLE = {
    "brand": demo.BRAND_SLUG,
    "language": "en",
    "title": "Changing a delivery address",
    "body": "You can change the address until the parcel ships.\n\n## After shipping\n\n"
    "Ask the carrier to redirect it <script>alert(1)</script>.",
    "category": "Delivery",
    "tags": ["address"],
}


async def test_an_editor_writes_and_publishes_and_it_is_found_at_once(
    server: RunningServer,
) -> None:
    editor = await signed_in(server, await person(server, demo.BRAND_SLUG, "editor"))
    agent = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    async with (
        closing(editor),
        closing(agent),
        httpx.AsyncClient(base_url=server.base_url) as public,
    ):
        made = await editor.post("/console/api/kb/articles", json=ARTICLE)
        assert made.status_code == 201, made.text
        article = made.json()
        assert (article["status"], article["version"], article["slug"]) == (
            "draft",
            1,
            "changing-a-delivery-address",
        )
        assert "<script" not in article["html"]
        assert "&lt;script&gt;" in article["html"]
        question = {"q": "can I change my delivery address", "brand": demo.BRAND_SLUG}
        assert (await public.get("/api/kb/search", params=question)).json()["results"] == []
        # In the console, its writers find the draft; an agent does not.
        drafts = (await editor.get("/console/api/kb/search", params=question)).json()
        assert [r["status"] for r in drafts["results"]] == ["draft"]
        hidden = (await agent.get("/console/api/kb/search", params=question)).json()
        assert hidden["results"] == []
        assert (await public.get(article["url"])).status_code == 404

        published = await editor.post(f"/console/api/kb/articles/{article['id']}/publish")
        assert published.json()["status"] == "published"
        found = (await public.get("/api/kb/search", params=question)).json()["results"]
        assert found[0]["title"] == ARTICLE["title"]
        assert found[0]["url"] == "/help/demo/en/changing-a-delivery-address"
        page = await public.get(found[0]["url"])
        assert page.status_code == 200
        assert "<h2>After shipping</h2>" in page.text

        # An agent reads it, and may not change it.
        assert (await agent.get(f"/console/api/kb/articles/{article['id']}")).status_code == 200
        change = {"language": "en", "title": "Changed"}
        refused = await agent.put(f"/console/api/kb/articles/{article['id']}", json=change)
        assert refused.status_code == 403
        listed = (await agent.get("/console/api/kb/articles")).json()["articles"]
        assert [a["title"] for a in listed] == [ARTICLE["title"]]

        changed = await editor.put(
            f"/console/api/kb/articles/{article['id']}",
            json={**{k: v for k, v in ARTICLE.items() if k != "brand"}, "title": "New address"},
        )
        assert (changed.json()["version"], changed.json()["status"]) == (3, "draft")
        versions = (await editor.get(f"/console/api/kb/articles/{article['id']}/versions")).json()
        assert [(v["version"], v["status"]) for v in versions["versions"]] == [
            (3, "draft"),
            (2, "published"),
            (1, "draft"),
        ]
        assert {v["author"] for v in versions["versions"]} == {"editor of demo"}


async def test_refusals_are_precise(server: RunningServer) -> None:
    await demo.seed_other_brand(server.services.pool)
    editor = await signed_in(server, await person(server, demo.OTHER_BRAND_SLUG, "editor"))
    async with closing(editor):
        other = await editor.post("/console/api/kb/articles", json=ARTICLE)
        assert other.status_code == 404
        assert other.json() == {"error": "no brand 'demo'"}
        bad = await editor.post(
            "/console/api/kb/articles",
            json={**ARTICLE, "brand": demo.OTHER_BRAND_SLUG, "language": "English"},
        )
        assert bad.status_code == 422
        assert bad.json()["error"].startswith("language:")
        mine = {**ARTICLE, "brand": demo.OTHER_BRAND_SLUG}
        assert (await editor.post("/console/api/kb/articles", json=mine)).status_code == 201
        again = await editor.post("/console/api/kb/articles", json=mine)
        assert again.status_code == 409
        assert again.json()["error"].startswith("slug:")
        assert (await editor.get("/console/api/kb/articles/not-an-id")).status_code == 404
    async with httpx.AsyncClient(base_url=server.base_url) as public:
        missing = await public.get("/api/kb/search", params={"q": "x", "brand": "nope"})
        assert missing.status_code == 404
        no_q = await public.get("/api/kb/search", params={"brand": demo.BRAND_SLUG})
        assert no_q.status_code == 422
        assert no_q.json()["error"].startswith("q:")
