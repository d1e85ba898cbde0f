"""How a command's change is recorded in the audit log: as the admin API records the same
change (the same action, target and detail), in the change's transaction, and as done by
"command line (<OS user>)"."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from server.cli.privacy_commands import _actor_label
from server.store import audit
from server.store.views import Conn


async def note(
    conn: Conn,
    action: str,
    *,
    brand_id: UUID | str | None = None,
    target_kind: str,
    target_id: str,
    detail: Mapping[str, object] | None = None,
) -> None:
    """Record a change made from the command line (call it in the change's transaction)."""
    await audit.record(
        conn,
        action=action,
        actor_label=_actor_label(),
        brand_id=str(brand_id) if brand_id is not None else None,
        target_kind=target_kind,
        target_id=target_id,
        detail=detail,
    )


def given(**options: object) -> dict[str, object]:
    """The options given, under the admin API's body names: the audit entry's detail."""
    return {name: value for name, value in options.items() if value is not None}
