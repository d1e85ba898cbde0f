"""The admin REST API (/api/admin/*): brands, teams, skills, agents, SLA policies, intent
routes, inboxes, brand texts (greeting, closing message), contacts (and their export and
erasure), the mail room and the audit log, for scripts and provisioning tools. Every change
made here is recorded in the audit log (``audit.note``).

Bearer token, checked once for the whole mount (server/http/auth.py): an admin's personal API
token with the admin scope, or, for first set-up, SWITCHBOARD_ADMIN_TOKEN (generated under the
data folder and printed by `serve` when unset), refused once an admin agent exists unless
SWITCHBOARD_ADMIN_TOKEN_ALWAYS is set. The CLI offers the same operations; both go
through server/store/organisation.py. One module per resource, each listing its routes.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import Mount

from server.http.admin import agents, audit, brand_texts, mail, organisation, policies, privacy
from server.http.auth import AdminToken

PREFIX = "/api/admin"


def mount(token: str) -> Mount:
    """Every admin route under /api/admin, behind the admin token."""
    return Mount(
        PREFIX,
        routes=[
            *organisation.routes,
            *brand_texts.routes,
            *agents.routes,
            *policies.routes,
            *mail.routes,
            *privacy.routes,
            *audit.routes,
        ],
        middleware=[Middleware(AdminToken, token=token)],
    )
