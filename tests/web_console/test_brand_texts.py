"""A brand's greeting and closing message: resolving tells the customer, in their language and
the brand's words (or the defaults), before the rating question; the brand's supervisors and
admins edit them per language in the console, audited; nobody edits another brand's."""

from __future__ import annotations

import httpx

from server.services import demo
from server.store import brand_texts
from tests.harness import RunningServer
from tests.web_console.brands import Brand, person, signed_in, two_brands

FR_CLOSING = "Merci ! Votre demande est close, à bientôt chez Demo Shop."


async def _brand_of(server: RunningServer, brand: Brand) -> str:
    async with server.services.pool.acquire() as conn:
        return str(
            await conn.fetchval(
                "SELECT brand_id::text FROM conversations WHERE id = $1::uuid",
                brand.conversation_id,
            )
        )


async def _resolve(http: httpx.AsyncClient, brand: Brand) -> list[dict[str, object]]:
    path = f"/console/api/conversations/{brand.conversation_id}"
    assert (await http.post(f"{path}/claim")).status_code == 200
    assert (await http.post(f"{path}/resolve")).status_code == 200
    messages: list[dict[str, object]] = (await http.get(f"{path}/messages")).json()["messages"]
    return messages


async def test_resolving_sends_the_default_closing_message_before_the_question(
    server: RunningServer,
) -> None:
    shop, _ = await two_brands(server)
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    messages = await _resolve(sam, shop)
    closing, question = messages[-2:]
    assert closing["author_kind"] == question["author_kind"] == "system"
    assert closing["text"] == brand_texts.DEFAULTS["closing"]["en"]
    assert question.get("csat") == "asked"
    assert "Reply with a number from 1 (poor) to 5 (great)" in str(question["text"])
    await sam.aclose()


async def test_a_supervisor_sets_the_french_closing_message_a_french_customer_gets(
    server: RunningServer,
) -> None:
    shop, _ = await two_brands(server)
    shop_brand = await _brand_of(server, shop)
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    listed = (await sam.get("/console/api/brand-texts")).json()["brands"]
    assert [b["brand_id"] for b in listed] == [shop_brand]  # only the brand they supervise
    defaults = {(t["kind"], t["language"]): t for t in listed[0]["texts"]}
    assert defaults[("closing", "fr")]["custom"] is False
    assert defaults[("greeting", "fr")]["text"] == brand_texts.DEFAULTS["greeting"]["fr"]

    path = f"/console/api/brands/{shop_brand}/texts/closing/fr"
    changed = await sam.put(path, json={"text": f"  {FR_CLOSING} "})
    assert changed.status_code == 200, changed.text
    assert changed.json()["text"]["text"] == FR_CLOSING
    async with server.services.pool.acquire() as conn:
        await conn.execute(
            "UPDATE conversations SET language = 'fr' WHERE id = $1::uuid", shop.conversation_id
        )
        entry = await conn.fetchrow(
            "SELECT actor_label, detail FROM audit_log WHERE action = 'brand.text_changed'"
            " AND brand_id = $1::uuid",
            shop_brand,
        )
    assert entry is not None
    assert (entry["detail"]["language"], entry["detail"]["text"]) == ("fr", FR_CLOSING)

    messages = await _resolve(sam, shop)
    assert messages[-2]["text"] == FR_CLOSING
    assert str(messages[-1]["text"]).startswith("Comment avons-nous fait ?")

    # Back to the default: the default words again, and audited.
    reset = await sam.delete(path)
    assert reset.status_code == 200
    assert reset.json()["text"] == {
        "kind": "closing",
        "language": "fr",
        "text": brand_texts.DEFAULTS["closing"]["fr"],
        "custom": False,
        "updated_at": None,
    }
    async with server.services.pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'brand.text_reset'"
        )
    await sam.aclose()


async def test_the_widget_greeting_is_the_brands_in_the_visitors_language(
    server: RunningServer,
) -> None:
    shop, _ = await two_brands(server)
    shop_brand = await _brand_of(server, shop)
    admin = await signed_in(server, await person(server, demo.BRAND_SLUG, "admin"))
    path = f"/console/api/brands/{shop_brand}/texts/greeting/fr"
    assert (await admin.put(path, json={"text": "Salut ! On vous écoute."})).status_code == 200
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        greeted = {}
        for language in ("fr", "en", "de", None):
            session = await http.post(
                "/api/webchat/sessions", json={"inbox": demo.WEBCHAT_INBOX, "language": language}
            )
            assert session.status_code == 201, session.text
            greeted[language] = session.json()["greeting"]
        bad = await http.post(
            "/api/webchat/sessions", json={"inbox": demo.WEBCHAT_INBOX, "language": "french"}
        )
    assert greeted["fr"] == "Salut ! On vous écoute."
    assert greeted["en"] == greeted["de"] == greeted[None] == brand_texts.DEFAULTS["greeting"]["en"]
    assert bad.status_code == 422
    # The other brand keeps its defaults.
    outdoor = await admin.get("/console/api/brand-texts")
    texts = {b["brand_id"]: b["texts"] for b in outdoor.json()["brands"]}
    assert len(texts) == 2  # an admin edits every brand's
    other = next(v for k, v in texts.items() if k != shop_brand)
    assert not any(t["custom"] for t in other)
    await admin.aclose()


async def test_nobody_edits_another_brands_texts_and_bad_input_is_a_clear_422(
    server: RunningServer,
) -> None:
    shop, outdoor = await two_brands(server)
    shop_brand, outdoor_brand = await _brand_of(server, shop), await _brand_of(server, outdoor)
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    lea = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    body = {"text": "Au revoir"}
    # Another brand does not exist for them; their own brand with the wrong role is a 403.
    other = await sam.put(f"/console/api/brands/{outdoor_brand}/texts/closing/fr", json=body)
    assert other.status_code == 404
    assert other.json()["error"] == f"no brand {outdoor_brand}"
    assert (
        await sam.delete(f"/console/api/brands/{outdoor_brand}/texts/closing/fr")
    ).status_code == 404
    agent = await lea.put(f"/console/api/brands/{shop_brand}/texts/closing/fr", json=body)
    assert agent.status_code == 403
    assert (await lea.get("/console/api/brand-texts")).json()["brands"] == []
    for path, sent, why in (
        (f"/console/api/brands/{shop_brand}/texts/farewell/fr", body, "kind"),
        (f"/console/api/brands/{shop_brand}/texts/closing/FR", body, "language"),
        ("/console/api/brands/not-a-brand/texts/closing/fr", body, "brand_id"),
        (f"/console/api/brands/{shop_brand}/texts/closing/fr", {"text": "   "}, "text"),
        (f"/console/api/brands/{shop_brand}/texts/closing/fr", {"text": "x" * 2001}, "text"),
        (f"/console/api/brands/{shop_brand}/texts/closing/fr", {"words": "hi"}, "text"),
    ):
        refused = await sam.put(path, json=sent)
        assert refused.status_code == 422, (path, refused.text)
        assert why in refused.json()["error"], refused.text
    missing = await sam.put(
        "/console/api/brands/00000000-0000-0000-0000-000000000000/texts/closing/fr", json=body
    )
    assert missing.status_code == 404
    async with server.services.pool.acquire() as conn:
        assert not await conn.fetchval("SELECT count(*) FROM brand_messages")
    await sam.aclose()
    await lea.aclose()


async def test_the_admin_api_edits_a_brands_texts_by_slug_audited(server: RunningServer) -> None:
    shop, _ = await two_brands(server)
    token = server.services.settings.admin_api_token()
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as admin:
        path = f"/api/admin/brands/{demo.BRAND_SLUG}/texts"
        put = await admin.put(f"{path}/closing/fr", json={"text": FR_CLOSING})
        assert put.status_code == 200, put.text
        assert put.json()["custom"] is True
        listed = {(t["kind"], t["language"]): t for t in (await admin.get(path)).json()["texts"]}
        assert listed[("closing", "fr")]["text"] == FR_CLOSING
        assert listed[("greeting", "en")]["custom"] is False
        reset = await admin.delete(f"{path}/closing/fr")
        assert reset.json()["text"] == brand_texts.DEFAULTS["closing"]["fr"]
        assert (await admin.put(f"{path}/farewell/fr", json={"text": "x"})).status_code == 422
        assert (await admin.put(f"{path}/closing/fra", json={"text": "x"})).status_code == 422
        assert (await admin.put(f"{path}/closing/fr", json={"text": " "})).status_code == 422
        unknown = await admin.put("/api/admin/brands/nope/texts/closing/fr", json={"text": "x"})
        assert unknown.status_code == 404
    async with server.services.pool.acquire() as conn:
        actions = [
            r["action"]
            for r in await conn.fetch(
                "SELECT action FROM audit_log WHERE action LIKE 'brand.text_%' ORDER BY id"
            )
        ]
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM brand_messages WHERE brand_id = $1::uuid",
                await _brand_of(server, shop),
            )
            == 0
        )
    assert actions == ["brand.text_changed", "brand.text_reset"]
