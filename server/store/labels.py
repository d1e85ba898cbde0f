"""Labels on conversations, and what the console's list filters offer: the brands, teams,
languages and labels of the conversations an agent may see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict
from uuid import UUID

from server.payloads import Named
from server.store.conversations import reach_filter, reach_params
from server.store.views import Conn
from web_console.access import Reach

# A brand's labels offered in the console: the most used first.
MOST = 200


class LabelCount(TypedDict):
    label: str
    conversations: int


class TeamOption(TypedDict):
    id: str
    name: str
    brand_id: str


class FilterOptions(TypedDict):
    brands: list[Named]
    teams: list[TeamOption]
    languages: list[str]
    labels: list[LabelCount]


async def set_labels(conn: Conn, conversation_id: str, labels: Sequence[str]) -> None:
    """Replace the conversation's labels (already normalised by the caller)."""
    await conn.execute(
        "UPDATE conversations SET labels = $2, updated_at = now() WHERE id = $1",
        UUID(conversation_id),
        list(labels),
    )


async def filter_options(conn: Conn, reach: Reach) -> FilterOptions:
    """What the lists may be narrowed to, within the reach: its brands, the teams it sees,
    the languages of its open conversations, and the labels its conversations carry."""
    brands = [UUID(b) for b in (*reach.whole_brands, *reach.team_brands)]
    brand_rows = await conn.fetch(
        "SELECT id, name FROM brands WHERE $1::bool OR id = ANY($2::uuid[]) ORDER BY name",
        reach.everything,
        brands,
    )
    team_rows = await conn.fetch(
        "SELECT id, name, brand_id FROM teams WHERE $1::bool OR brand_id = ANY($2::uuid[])"
        " OR (id = ANY($3::uuid[]) AND brand_id = ANY($4::uuid[])) ORDER BY name",
        reach.everything,
        [UUID(b) for b in reach.whole_brands],
        [UUID(t) for t in reach.teams],
        [UUID(b) for b in reach.team_brands],
    )
    languages = await conn.fetch(
        "SELECT DISTINCT c.language FROM conversations c WHERE c.status <> 'resolved'"
        " AND c.language IS NOT NULL AND " + reach_filter(1) + " ORDER BY 1",
        *reach_params(reach),
    )
    labels = await conn.fetch(
        "SELECT label, count(*) AS n FROM conversations c, unnest(c.labels) AS label"
        " WHERE c.labels <> '{}' AND " + reach_filter(1) + " GROUP BY label"
        " ORDER BY n DESC, label LIMIT $6",
        *reach_params(reach),
        MOST,
    )
    return FilterOptions(
        brands=[Named(id=str(r["id"]), name=r["name"]) for r in brand_rows],
        teams=[
            TeamOption(id=str(r["id"]), name=r["name"], brand_id=str(r["brand_id"]))
            for r in team_rows
        ],
        languages=[r["language"] for r in languages],
        labels=[LabelCount(label=r["label"], conversations=r["n"]) for r in labels],
    )
