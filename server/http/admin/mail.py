"""The admin API's mail room: what arrived over SMTP, the raw messages, and retries of what
could not be parsed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.errors import InvalidInput, NotFound
from server.http.admin.audit import note
from server.http.inputs import services
from server.http.responses import JSON
from server.store import mail

STATES = ("received", "stored", "duplicate", "report", "quarantined")
BIGINT_MAX = 2**63 - 1


def _receipt(request: Request) -> int:
    value: int = request.path_params["receipt"]
    if value > BIGINT_MAX:
        raise NotFound(f"no mail receipt {value}")
    return value


async def list_mail(request: Request) -> Response:
    """
    summary: Mail received over SMTP, newest first; ?state=quarantined for what could not
      be parsed, with the reason (admin token)
    parameters:
      - {name: state, in: query, required: false,
         schema: {type: string, enum: [received, stored, duplicate, report, quarantined]}}
      - {name: limit, in: query, required: false,
         schema: {type: integer, minimum: 1, maximum: 1000}}
    responses:
      200: {description: the receipts}
      401: {description: no admin token}
      422: {description: unknown state or bad limit}
    """
    state = request.query_params.get("state")
    if state is not None and state not in STATES:
        raise InvalidInput(f"state: one of {', '.join(STATES)}")
    raw_limit = request.query_params.get("limit", "100")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        raise InvalidInput("limit: an integer from 1 to 1000")
    async with services(request).pool.acquire() as conn:
        return JSON({"mail": await mail.receipts(conn, state, int(raw_limit))})


async def get_mail_raw(request: Request) -> Response:
    """
    summary: A received mail exactly as it arrived (.eml download) (admin token)
    responses:
      200: {description: "the raw message, message/rfc822"}
      401: {description: no admin token}
      404: {description: no such receipt}
    """
    number = _receipt(request)
    async with services(request).pool.acquire() as conn:
        raw = await mail.raw_receipt(conn, number)
    if raw is None:
        raise NotFound(f"no mail receipt {number}")
    return Response(
        raw,
        media_type="message/rfc822",
        headers={
            "Content-Disposition": f'attachment; filename="receipt-{number}.eml"',
            "X-Content-Type-Options": "nosniff",
        },
    )


async def retry_mail_receipt(request: Request) -> Response:
    """
    summary: Parse a quarantined mail again (after a fix or a raised limit) (admin token)
    responses:
      202: {description: queued for parsing}
      401: {description: no admin token}
      404: {description: no quarantined receipt with this id}
    """
    number = _receipt(request)
    async with services(request).pool.acquire() as conn, conn.transaction():
        queued = await mail.requeue_receipt(conn, number)
        if not queued:
            raise NotFound(f"no quarantined mail receipt {number}")
        await note(request, conn, "mail.retried", target_kind="mail", target_id=str(number))
    services(request).mailroom.process_soon(number)
    return JSON({"id": number, "state": "received"}, status_code=202)


routes = [
    Route("/mail", list_mail, methods=["GET"]),
    Route("/mail/{receipt:int}/raw", get_mail_raw, methods=["GET"]),
    Route("/mail/{receipt:int}/retry", retry_mail_receipt, methods=["POST"]),
]
