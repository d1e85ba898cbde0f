"""The bot API tells an order only to a conversation of the order's brand."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.harness import run_server, settings_for
from tests.web_console.brands import two_brands

TOKEN = "bot-token-for-the-brand-test"


async def test_an_order_is_told_only_in_its_own_brand(dsn: str, tmp_path: Path) -> None:
    async with run_server(settings_for(dsn, tmp_path, bot_api_token=TOKEN)) as server:
        shop, outdoor = await two_brands(server)
        headers = {"authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
            # 10234 is one of the demo shop's orders.
            asked = await http.get(f"/api/bot/orders/10234?conversation={shop.conversation_id}")
            assert asked.status_code == 200
            assert asked.json()["status"] == "shipped"
            other = await http.get(f"/api/bot/orders/10234?conversation={outdoor.conversation_id}")
            assert other.status_code == 404
            unnamed = await http.get("/api/bot/orders/10234")
            assert unnamed.status_code == 400
            assert "conversation" in unnamed.json()["error"]
