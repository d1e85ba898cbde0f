"""The admin API's customer data rights: a contact's export (a ZIP) and erasure
(services/privacy.py does both; docs/privacy.md says what they hold and do)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from typing import IO

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from server.errors import InvalidInput
from server.http.admin.bodies import EraseBody
from server.http.auth import actor_of
from server.http.inputs import body, path_value, services
from server.http.responses import JSON
from server.services import privacy

# An export is built in memory up to this size, then in a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK = 64 * 1024


def _actor(request: Request) -> privacy.Actor:
    actor = actor_of(request)
    return privacy.Actor(
        label=actor.label, id=actor.id, address=request.client.host if request.client else None
    )


async def export_contact(request: Request) -> Response:
    """
    summary: Everything held about a contact, as a ZIP (admin token)
    description: >
      The contact, its identities, conversations, messages, orders, the files sent in its
      conversations and the mails it sent as they arrived; README.txt inside lists the files.
      Recorded in the audit log as contact.exported.
    responses:
      200: {description: "application/zip, as an attachment"}
      401: {description: no admin token}
      404: {description: no such contact}
    """
    contact_id = path_value(request, "id")
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by _chunks)
    try:
        await privacy.export_contact(services(request).pool, contact_id, out, _actor(request))
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return StreamingResponse(
        _chunks(out),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="contact-{contact_id}.zip"'},
    )


async def _chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK):
            yield chunk
    finally:
        file.close()


async def erase_contact(request: Request) -> Response:
    """
    summary: Erase a contact (admin token)
    description: >
      Its messages are replaced by a tombstone, its files and mails deleted, its identities
      removed, its name and address cleared, its orders detached; its conversations stay,
      resolved, as counts for the reports. Recorded in the audit log as contact.erased,
      which stays. Cannot be undone, so the body must say {"confirm": true}.
    body: EraseBody
    responses:
      200: {description: what was erased, in counts}
      400: {description: body is not JSON}
      401: {description: no admin token}
      404: {description: no such contact}
      422: {description: "confirm is not true"}
    """
    fields = await body(request, EraseBody)
    if fields.confirm is not True:
        raise InvalidInput("confirm: must be true (an erasure cannot be undone)")
    contact_id = path_value(request, "id")
    svc = services(request)
    erased = await privacy.erase_contact(svc.pool, contact_id, _actor(request), svc.bus)
    svc.router.wake()  # its open conversations were resolved: seats are free
    return JSON({"contact": contact_id, "erased": erased})


routes = [
    Route("/contacts/{id}/export", export_contact, methods=["GET"]),
    Route("/contacts/{id}/erase", erase_contact, methods=["POST"]),
]
