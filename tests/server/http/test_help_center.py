"""The public help center against a real server: a brand's published articles by category,
an article page, the search box, all server-rendered, escaped, and under a policy that runs
no script."""

from __future__ import annotations

import httpx

from server.http import icon
from server.services import demo
from server.services.kb import Author
from server.store.kb import Draft
from tests.harness import RunningServer

DANA = Author(None, "Dana")


async def test_categories_articles_and_search(server: RunningServer) -> None:
    kb = server.services.kb
    assert kb is not None
    await kb.create(
        demo.BRAND_SLUG,
        Draft(
            "en",
            "",
            "Returns <b>& refunds</b>",
            "## How\n\nPrint the label. <script>alert(1)</script>",
            "Returns",
            [],
            "published",
        ),
        DANA,
    )
    await kb.create(
        demo.BRAND_SLUG,
        Draft("en", "", "Delivery times", "Two to four days.", "Delivery", [], "published"),
        DANA,
    )
    await kb.create(
        demo.BRAND_SLUG,
        Draft("en", "", "Secret draft", "Not yet.", "Delivery", [], "draft"),
        DANA,
    )
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        home = await http.get("/help/demo")
        assert home.status_code == 302  # one language: straight to it
        assert home.headers["location"] == "/help/demo/en"
        page = await http.get("/help/demo/en")
        assert page.status_code == 200
        assert icon.LINK in page.text
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src" not in policy  # default-src 'none' covers it: no script at all
        assert page.headers["x-frame-options"] == "DENY"
        assert '<html lang="en">' in page.text
        assert "<h2>Delivery</h2>" in page.text
        assert "<h2>Returns</h2>" in page.text
        assert "Returns &lt;b&gt;&amp; refunds&lt;/b&gt;" in page.text
        assert "Secret draft" not in page.text
        assert 'action="/help/demo/en"' in page.text

        article = await http.get("/help/demo/en/returns-b-refunds-b")
        assert article.status_code == 200
        assert "<h2>How</h2>" in article.text
        assert "<script>alert" not in article.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in article.text
        assert '<meta name="description" content="How Print the label.' in article.text

        found = await http.get("/help/demo/en", params={"q": 'when will my parcel come "<i>'})
        assert found.status_code == 200
        assert found.headers["x-robots-tag"] == "noindex"
        assert "/help/demo/en/delivery-times" in found.text
        assert "&quot;&lt;i&gt;" in found.text

        for missing in (
            "/help/nope",
            "/help/demo/xx-yy",
            "/help/demo/en/secret-draft",
            "/help/demo/en/no-such-article",
            "/help/Demo/en",
        ):
            response = await http.get(missing)
            assert response.status_code == 404, missing
