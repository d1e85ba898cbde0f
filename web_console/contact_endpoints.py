"""A contact's data rights from the console: export everything held about them as a ZIP, and
erase them. Supervisors of the contact's brand and admins."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from typing import IO

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from web_console.requests import ask, console_of, current_agent, parse_body

# An export is built in memory up to this size, then in a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK = 64 * 1024


class Erase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirm: bool


async def export_contact(request: Request) -> Response:
    """
    summary: Everything held about a contact, as a ZIP
    description: >
      The contact, its identities, conversations, messages, orders, files and mails as
      they arrived (docs/privacy.md). Supervisors of the contact's brand and admins;
      recorded in the audit log as contact.exported.
    responses:
      200: {description: "application/zip, as an attachment"}
      401: {description: not logged in}
      403: {description: not a supervisor of the contact's brand}
      404: {description: no such contact}
    """
    agent = await current_agent(request)
    contact_id = request.path_params["id"]
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by _chunks)
    try:
        await ask(console_of(request).backend.export_contact(agent, contact_id, out))
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return StreamingResponse(
        _chunks(out),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="contact-{contact_id}.zip"',
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK):
            yield chunk
    finally:
        file.close()


async def erase_contact(request: Request) -> Response:
    """
    summary: Erase a contact
    description: >
      Messages become a tombstone, files and mails are deleted, identities removed; the
      conversations stay as counts (docs/privacy.md). Send {"confirm": true}. Supervisors of
      the contact's brand and admins; recorded in the audit log as contact.erased.
    body: Erase
    responses:
      200: {description: what was erased, in counts}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: not a supervisor of the contact's brand, or Origin not allowed}
      404: {description: no such contact}
      422: {description: not confirmed}
    """
    agent = await current_agent(request)
    body = parse_body(Erase, await request.body())
    backend = console_of(request).backend
    erased = await ask(backend.erase_contact(agent, request.path_params["id"], body.confirm))
    return JSONResponse(erased)
