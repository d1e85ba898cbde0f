"""Orders the bot can look up, and how their status reads in each language."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from server.store.views import Conn

_STATUS_TEXT = {
    "en": {
        "processing": "being prepared",
        "shipped": "on its way",
        "out_for_delivery": "out for delivery today",
        "delivered": "delivered",
        "delayed": "delayed",
        "cancelled": "cancelled",
    },
    "fr": {
        "processing": "en préparation",
        "shipped": "en route",
        "out_for_delivery": "en cours de livraison aujourd'hui",
        "delivered": "livrée",
        "delayed": "retardée",
        "cancelled": "annulée",
    },
}


async def order_by_number(conn: Conn, number: str, conversation_id: str) -> dict[str, Any] | None:
    """The order with this number in the brand of the conversation asking: one brand's bot
    never tells another brand's orders."""
    try:
        conversation = UUID(conversation_id)
    except ValueError:
        return None
    row = await conn.fetchrow(
        "SELECT o.number, o.status, o.carrier, o.tracking_number, o.estimated_delivery,"
        " o.delivered_on FROM orders o JOIN conversations c ON c.brand_id = o.brand_id"
        " WHERE o.number = $1 AND c.id = $2 ORDER BY o.created_at DESC LIMIT 1",
        number.lstrip("#"),
        conversation,
    )
    return dict(row) if row is not None else None


def describe_order(order: dict[str, Any], language: str) -> dict[str, Any]:
    """The order as the bot tells it: ``status_text`` and ``detail_text`` fill the project's
    ``utter_order_status`` response ("Order {order_number} is {order_state}{order_detail}.")."""
    lang = language if language in _STATUS_TEXT else "en"
    status = str(order["status"])
    detail = ""
    eta: date | None = order.get("estimated_delivery")
    delivered: date | None = order.get("delivered_on")
    if status == "delivered" and delivered is not None:
        detail = f" ({delivered:%d/%m/%Y})" if lang == "fr" else f" (on {delivered:%d %B %Y})"
    elif status in ("shipped", "out_for_delivery", "delayed") and order.get("carrier"):
        carrier, tracking = order["carrier"], order.get("tracking_number") or ""
        if lang == "fr":
            detail = f" avec {carrier}, suivi {tracking}"
            if eta is not None:
                detail += f", livraison prévue le {eta:%d/%m/%Y}"
        else:
            detail = f" with {carrier}, tracking {tracking}"
            if eta is not None:
                detail += f", expected on {eta:%d %B %Y}"
    elif status == "processing" and eta is not None:
        detail = (
            f", expédition prévue avant le {eta:%d/%m/%Y}"
            if lang == "fr"
            else (f", due to ship by {eta:%d %B %Y}")
        )
    return {
        "number": order["number"],
        "status": status,
        "status_text": _STATUS_TEXT[lang][status],
        "detail_text": detail,
        "estimated_delivery": eta.isoformat() if eta else None,
    }


async def insert_order(
    conn: Conn,
    brand_id: UUID,
    number: str,
    status: str,
    *,
    carrier: str | None,
    tracking_number: str | None,
    estimated_delivery: date | None,
    delivered_on: date | None,
) -> None:
    """Add an order unless the brand has one with that number (the demo seed runs twice)."""
    await conn.execute(
        "INSERT INTO orders (brand_id, number, status, carrier, tracking_number,"
        " estimated_delivery, delivered_on) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (brand_id, number) DO NOTHING",
        brand_id,
        number,
        status,
        carrier,
        tracking_number,
        estimated_delivery,
        delivered_on,
    )
