"""What an agent does to a conversation from the console is in the audit log: claims,
transfers, contact merges, hand-backs to the bot and resolutions, each with who did it, the
conversation's brand and the conversation; a refused attempt records nothing."""

from __future__ import annotations

from server.services import demo
from tests.harness import RunningServer
from tests.web_console.brands import conversation_in, person, signed_in, two_brands


async def test_claim_transfer_merge_return_and_resolve_are_each_recorded(
    server: RunningServer,
) -> None:
    shop, outdoor = await two_brands(server)
    email = await person(server, demo.BRAND_SLUG, "supervisor")
    sam = await signed_in(server, email)
    pool = server.services.pool
    # Another visitor of the shop (resolved: one open conversation per inbox and person),
    # whom the first conversation's customer is linked to.
    other = await conversation_in(server, demo.WEBCHAT_INBOX, "it is me, on my phone")
    await pool.execute(
        "UPDATE conversations SET status = 'resolved', resolved_at = now() WHERE id = $1::uuid",
        other.conversation_id,
    )
    billing = await pool.fetchval(
        "SELECT t.id::text FROM teams t JOIN brands b ON b.id = t.brand_id"
        " WHERE b.slug = $1 AND t.slug = 'billing'",
        demo.BRAND_SLUG,
    )
    path = f"/console/api/conversations/{shop.conversation_id}"
    try:
        assert (await sam.post(f"{path}/claim")).status_code == 200
        moved = await sam.post(f"{path}/transfer", json={"team_id": billing})
        assert moved.status_code == 200, moved.text
        merged = await sam.post(f"{path}/merge-contact", json={"contact": other.contact_id})
        assert merged.status_code == 200, merged.text
        assert (await sam.post(f"{path}/return-to-bot")).status_code == 200
        assert (await sam.post(f"{path}/resolve")).status_code == 200
        # Another brand's conversation: a 404, and nothing on record.
        refused = await sam.post(f"/console/api/conversations/{outdoor.conversation_id}/claim")
        assert refused.status_code == 404
    finally:
        await sam.aclose()
    rows = await pool.fetch(
        "SELECT action, actor_label, brand_id::text AS brand, target_kind, target_id, detail"
        " FROM audit_log WHERE actor_label = $1 ORDER BY id",
        email,
    )
    brand = await pool.fetchval(
        "SELECT brand_id::text FROM conversations WHERE id = $1::uuid", shop.conversation_id
    )
    assert [r["action"] for r in rows] == [
        "agent.login",
        "conversation.claimed",
        "conversation.transferred",
        "contact.merged",
        "conversation.returned_to_bot",
        "conversation.resolved",
    ]
    for row in rows[1:]:
        assert (row["brand"], row["target_kind"], row["target_id"]) == (
            brand,
            "conversation",
            shop.conversation_id,
        ), row["action"]
    assert rows[2]["detail"] == {"to_team": billing}
    assert set(rows[3]["detail"]) == {"into"}  # a contact's id, never its name or address
