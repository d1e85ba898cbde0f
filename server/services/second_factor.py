"""Optional TOTP two-factor sign-in (RFC 6238, with pyotp) and single-use recovery codes.

Enrolment is two steps: a new secret is kept aside (shown as text, an otpauth URI and a QR
code made here with segno), and only a code from it turns it on, so a mistyped set-up never
locks anyone out. A code is accepted one 30-second step either side of now (clocks drift),
and never twice: the last step accepted is stored and only a later one passes. Ten recovery
codes come with it, each good once, stored as hashes.
"""

from __future__ import annotations

import base64
import hmac
import io
import secrets
from datetime import datetime
from uuid import UUID

import pyotp
import segno

from server.services.account_audit import note
from server.services.hashing import Clock, digest, utcnow
from server.store import Pool
from server.store import credentials as store
from server.store.views import Conn
from web_console.account_port import TotpEnrolment, TotpView, WrongPassword
from web_console.port import ActionRefused, Agent, BadValue, Client

RECOVERY_CODES = 10
# Steps either side of now that still pass (RFC 6238 section 5.2 suggests one).
DRIFT_STEPS = 1


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within the drift allowed; None when none is."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _normal_recovery(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def new_recovery_codes() -> list[str]:
    """Ten codes of 80 random bits each, as four groups of four letters and digits."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


async def spend_code(conn: Conn, agent_id: UUID, code: str, now: datetime) -> str | None:
    """Check a TOTP or recovery code for the agent and use it up; "totp" or "recovery_code"
    when it passed, None otherwise. Call it in a transaction: the agent's row is locked."""
    state = await store.totp_state(conn, agent_id, lock=True)
    if state["secret"] is None:
        return None
    step = matching_step(state["secret"], code, now)
    if step is not None:
        return "totp" if await store.accept_step(conn, agent_id, step) else None
    normal = _normal_recovery(code)
    if len(normal) == 16 and await store.use_recovery_code(conn, agent_id, digest(normal), now):
        return "recovery_code"
    return None


def qr_svg(uri: str) -> str:
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, border=2)
    return out.getvalue().decode()


class SecondFactorService:
    """The console's SecondFactor port."""

    def __init__(self, pool: Pool, *, issuer: str = "Switchboard", clock: Clock = utcnow) -> None:
        self._pool = pool
        self._issuer = issuer
        self._clock = clock

    async def totp(self, agent: Agent) -> TotpView:
        async with self._pool.acquire() as conn:
            state = await store.totp_state(conn, UUID(agent.id))
        return TotpView(
            enabled=state["secret"] is not None,
            recovery_codes_left=state["recovery_codes_left"] if state["secret"] else 0,
        )

    async def begin_totp(self, agent: Agent) -> TotpEnrolment:
        secret = pyotp.random_base32()
        async with self._pool.acquire() as conn, conn.transaction():
            state = await store.totp_state(conn, UUID(agent.id), lock=True)
            if state["secret"] is not None:
                raise ActionRefused("two-factor sign-in is already on; turn it off first")
            await store.set_pending(conn, UUID(agent.id), secret)
        uri = pyotp.TOTP(secret).provisioning_uri(name=agent.email, issuer_name=self._issuer)
        return TotpEnrolment(secret=secret, uri=uri, qr_svg=qr_svg(uri))

    async def confirm_totp(self, agent: Agent, code: str, client: Client) -> list[str]:
        codes = new_recovery_codes()
        async with self._pool.acquire() as conn, conn.transaction():
            state = await store.totp_state(conn, UUID(agent.id), lock=True)
            if state["secret"] is not None:
                raise ActionRefused("two-factor sign-in is already on")
            if state["pending"] is None:
                raise ActionRefused("start the set-up first (POST /console/api/me/totp)")
            step = matching_step(state["pending"], code, self._clock())
            if step is None:
                raise BadValue("code: wrong code; enter the 6 digits your app shows now")
            await store.enable(
                conn,
                UUID(agent.id),
                state["pending"],
                step,
                [digest(_normal_recovery(c)) for c in codes],
            )
            await note(conn, "agent.totp_enabled", agent, client)
        return codes

    async def disable_totp(self, agent: Agent, code: str, client: Client) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            state = await store.totp_state(conn, UUID(agent.id), lock=True)
            if state["secret"] is None:
                raise ActionRefused("two-factor sign-in is off")
            used = await spend_code(conn, UUID(agent.id), code, self._clock())
            if used is None:
                raise WrongPassword("wrong code")
            await store.disable(conn, UUID(agent.id))
            await note(conn, "agent.totp_disabled", agent, client, {"with": used})
