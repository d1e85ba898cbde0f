"""A brand's words to its customers (the web chat's greeting, the closing message on resolve),
read and edited from the console by the brand's supervisors and admins; every change is
audited. The console backend hands these the agent; who may is decided here, once."""

from __future__ import annotations

from typing import TypedDict

from server.store import Pool, audit, brand_texts
from server.store.brand_texts import BrandText, Kind
from server.store.views import Conn
from web_console.port import Agent, Forbidden, Unknown


class BrandTexts(TypedDict):
    brand_id: str
    brand_name: str
    texts: list[BrandText]


def may_manage(agent: Agent, brand_id: str) -> None:
    """The brand's supervisors and admins; Unknown for those with no role there (it does not
    exist for them), Forbidden for another role."""
    if agent.admin or "supervisor" in agent.roles.get(brand_id, frozenset()):
        return
    if brand_id in agent.roles:
        raise Forbidden("supervisors and admins only: the brand's greeting and closing message")
    raise Unknown(f"no brand {brand_id}")


class BrandTextService:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def texts(self, agent: Agent) -> list[BrandTexts]:
        """The texts of every brand the agent may edit them in (none for other roles)."""
        async with self._pool.acquire() as conn:
            brands = await conn.fetch("SELECT id::text, name FROM brands ORDER BY name")
            found = []
            for brand in brands:
                try:
                    may_manage(agent, brand["id"])
                except (Unknown, Forbidden):
                    continue
                texts = await brand_texts.texts_of(conn, brand["id"])
                found.append(
                    BrandTexts(brand_id=brand["id"], brand_name=brand["name"], texts=texts)
                )
        return found

    async def put(
        self, agent: Agent, brand_id: str, kind: Kind, language: str, text: str
    ) -> BrandText:
        may_manage(agent, brand_id)
        async with self._pool.acquire() as conn, conn.transaction():
            await self._exists(conn, brand_id)
            view = await brand_texts.put_text(conn, brand_id, kind, language, text, agent.id)
            await audit.record(
                conn,
                action="brand.text_changed",
                actor_id=agent.id,
                actor_label=agent.email,
                brand_id=brand_id,
                target_kind="brand",
                target_id=brand_id,
                detail={"kind": kind, "language": language, "text": text},
            )
        return view

    async def reset(self, agent: Agent, brand_id: str, kind: Kind, language: str) -> BrandText:
        """Back to the default words (audited only when the brand had its own)."""
        may_manage(agent, brand_id)
        async with self._pool.acquire() as conn, conn.transaction():
            await self._exists(conn, brand_id)
            if await brand_texts.drop_text(conn, brand_id, kind, language):
                await audit.record(
                    conn,
                    action="brand.text_reset",
                    actor_id=agent.id,
                    actor_label=agent.email,
                    brand_id=brand_id,
                    target_kind="brand",
                    target_id=brand_id,
                    detail={"kind": kind, "language": language},
                )
        return BrandText(
            kind=kind,
            language=language,
            text=brand_texts.default_text(kind, language),
            custom=False,
            updated_at=None,
        )

    @staticmethod
    async def _exists(conn: Conn, brand_id: str) -> None:
        # An admin may name any brand; one that does not exist is a 404, not a foreign-key 500.
        if not await conn.fetchval("SELECT true FROM brands WHERE id = $1::uuid", brand_id):
            raise Unknown(f"no brand {brand_id}")
