"""The admin API's organisation: brands, teams, skills, inboxes and contacts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.http.admin.audit import note
from server.http.admin.bodies import (
    BrandBody,
    ContactBody,
    IdentitySecretBody,
    InboxBody,
    InboxTeamBody,
    SkillBody,
    TeamBody,
)
from server.http.inputs import body, path_value, query_value, services
from server.http.responses import JSON
from server.store import organisation as org
from server.store import privacy, retention, visitors


async def list_brands(request: Request) -> Response:
    """
    summary: Brands with business hours, language and retention (admin token)
    responses: {200: {description: the brands}, 401: {description: no admin token}}
    """
    async with services(request).pool.acquire() as conn:
        kept = {r.slug: r for r in await retention.retention(conn)}
        brands = [{**b, **_retention(kept[b["slug"]])} for b in await org.brands(conn)]
    return JSON({"brands": brands})


def _retention(kept: retention.Retention) -> dict[str, int | str | None]:
    days: dict[str, int | str | None] = {name: getattr(kept, name) for name in retention.SETTINGS}
    return {**days, "retention_action": kept.retention_action}


async def put_brand(request: Request) -> Response:
    """
    summary: Create or change a brand (admin token)
    description: >
      The retention settings are days, or null to keep forever (docs/privacy.md);
      retention_action says whether conversations past retention_days are anonymised (the
      default) or deleted. A field left out is unchanged.
    body: BrandBody
    responses:
      200: {description: the brand}
      400: {description: body is not JSON}
      401: {description: no admin token}
      422: {description: "invalid field (e.g. business hours 'mon-fri 09:00-18:00 Area/City')"}
    """
    fields = await body(request, BrandBody)
    slug = path_value(request, "slug")
    changes = {k: getattr(fields, k) for k in retention.SETTINGS if k in fields.model_fields_set}
    async with services(request).pool.acquire() as conn, conn.transaction():
        brand = await org.put_brand(
            conn,
            slug,
            name=fields.name,
            business_hours=fields.business_hours,
            language=fields.language,
            clear_hours=fields.clear_business_hours,
        )
        brand_id = await org.brand_id(conn, slug)
        brand |= await retention.set_retention(conn, brand_id, changes)
        if fields.retention_action is not None:
            await retention.set_retention_action(conn, brand_id, fields.retention_action)
        brand["retention_action"] = next(
            r.retention_action for r in await retention.retention(conn) if r.brand_id == brand_id
        )
        detail = fields.model_dump(exclude_unset=True)
        await note(
            request,
            conn,
            "brand.changed",
            brand_id=brand_id,
            target_kind="brand",
            target_id=slug,
            detail=detail,
        )
    return JSON(brand)


async def list_teams(request: Request) -> Response:
    """
    summary: Teams with their members (admin token)
    responses: {200: {description: the teams}, 401: {description: no admin token}}
    """
    async with services(request).pool.acquire() as conn:
        return JSON({"teams": await org.teams(conn)})


async def put_team(request: Request) -> Response:
    """
    summary: Create or change a team (admin token)
    body: TeamBody
    responses:
      200: {description: the team}
      400: {description: body is not JSON}
      401: {description: no admin token}
      404: {description: unknown brand}
      422: {description: invalid field}
    """
    fields = await body(request, TeamBody)
    slug = path_value(request, "slug")
    async with services(request).pool.acquire() as conn, conn.transaction():
        team = await org.put_team(
            conn,
            fields.brand,
            slug,
            name=fields.name,
            assignment=fields.assignment,
            requeue_unanswered=fields.requeue_unanswered,
            default=fields.default,
        )
        brand_id = await org.brand_id(conn, fields.brand)
        detail = fields.model_dump(exclude_unset=True)
        await note(
            request,
            conn,
            "team.changed",
            brand_id=brand_id,
            target_kind="team",
            target_id=team["id"],
            detail=detail,
        )
    return JSON(team)


async def delete_team(request: Request) -> Response:
    """
    summary: Delete a team (admin token)
    parameters:
      - {name: brand, in: query, required: false, schema: {type: string},
         description: "the team's brand; default: the default brand"}
    responses:
      204: {description: deleted}
      401: {description: no admin token}
      404: {description: unknown brand or team}
      422: {description: invalid slug}
    """
    slug = path_value(request, "slug")
    brand = query_value(request, "brand")
    async with services(request).pool.acquire() as conn, conn.transaction():
        brand_id = await org.brand_id(conn, brand)
        team_id = await org.team_id(conn, brand_id, slug)
        await org.delete_team(conn, brand, slug)
        await note(
            request,
            conn,
            "team.deleted",
            brand_id=brand_id,
            target_kind="team",
            target_id=str(team_id),
            detail={"slug": slug},
        )
    return Response(status_code=204)


async def list_skills(request: Request) -> Response:
    """
    summary: Skills (admin token)
    responses: {200: {description: the skills}, 401: {description: no admin token}}
    """
    async with services(request).pool.acquire() as conn:
        return JSON({"skills": await org.skills(conn)})


async def put_skill(request: Request) -> Response:
    """
    summary: Add or describe a skill (admin token)
    body: SkillBody
    responses:
      200: {description: the skill}
      400: {description: body is not JSON}
      401: {description: no admin token}
      422: {description: invalid name}
    """
    fields = await body(request, SkillBody)
    name = path_value(request, "name")
    async with services(request).pool.acquire() as conn, conn.transaction():
        skill = await org.put_skill(conn, name, fields.description)
        await note(
            request, conn, "skill.changed", target_kind="skill", target_id=name, detail=skill
        )
    return JSON(skill)


async def delete_skill(request: Request) -> Response:
    """
    summary: Delete a skill (admin token)
    responses:
      204: {description: deleted}
      401: {description: no admin token}
      404: {description: unknown skill}
      422: {description: invalid name}
    """
    name = path_value(request, "name")
    async with services(request).pool.acquire() as conn, conn.transaction():
        await org.delete_skill(conn, name)
        await note(request, conn, "skill.deleted", target_kind="skill", target_id=name)
    return Response(status_code=204)


async def list_inboxes(request: Request) -> Response:
    """
    summary: Inboxes with their brand and team (admin token)
    responses: {200: {description: the inboxes}, 401: {description: no admin token}}
    """
    async with services(request).pool.acquire() as conn:
        return JSON({"inboxes": await org.inboxes(conn)})


async def put_inbox(request: Request) -> Response:
    """
    summary: Create an inbox, or rename it / change its team (admin token)
    body: InboxBody
    responses:
      200: {description: the inbox}
      400: {description: body is not JSON}
      401: {description: no admin token}
      404: {description: unknown brand or team}
      409: {description: the address belongs to another brand}
      422: {description: unknown channel or bad address}
    """
    fields = await body(request, InboxBody)
    channel, address = path_value(request, "channel"), path_value(request, "address")
    async with services(request).pool.acquire() as conn, conn.transaction():
        inbox = await org.put_inbox(
            conn, fields.brand, channel, address, name=fields.name, team=fields.team
        )
        await note(
            request,
            conn,
            "inbox.changed",
            brand_id=await org.brand_id(conn, inbox["brand"]),
            target_kind="inbox",
            target_id=f"{channel}:{address}",
            detail=fields.model_dump(exclude_unset=True),
        )
    return JSON(inbox)


async def put_inbox_team(request: Request) -> Response:
    """
    summary: Send an inbox's conversations to a team (admin token)
    body: InboxTeamBody
    responses:
      204: {description: set}
      400: {description: body is not JSON}
      401: {description: no admin token}
      404: {description: unknown inbox or team}
      422: {description: invalid field}
    """
    fields = await body(request, InboxTeamBody)
    channel, address = path_value(request, "channel"), path_value(request, "address")
    async with services(request).pool.acquire() as conn, conn.transaction():
        await org.set_inbox_team(conn, channel, address, fields.team)
        await note(
            request,
            conn,
            "inbox.changed",
            target_kind="inbox",
            target_id=f"{channel}:{address}",
            detail={"team": fields.team},
        )
    return Response(status_code=204)


async def get_identity_secret(request: Request) -> Response:
    """
    summary: Whether a web chat inbox verifies visitors' identities (admin token)
    description: >
      Says whether the inbox has an identity secret and since when; never the secret.
    responses:
      200: {description: "identity_verification, identity_secret_set_at"}
      401: {description: no admin token}
      404: {description: no such web chat inbox}
      422: {description: not a web chat inbox}
    """
    channel, address = path_value(request, "channel"), path_value(request, "address")
    async with services(request).pool.acquire() as conn:
        return JSON(await visitors.secret_status(conn, channel, address))


async def put_identity_secret(request: Request) -> Response:
    """
    summary: Set or rotate a web chat inbox's identity secret (admin token)
    description: >
      The embedding site signs its signed-in user's identifier with this secret
      (identifier_hash = hex HMAC-SHA256; docs/webchat-identity.md). Without `secret` a new
      random one is made and returned in `identity_secret`, this once; it is never shown
      again. Rotating makes every hash made with the old secret fail.
    body: IdentitySecretBody
    responses:
      200: {description: the inbox's identity verification (the secret only when generated)}
      400: {description: body is not JSON}
      401: {description: no admin token}
      404: {description: no such web chat inbox}
      422: {description: not a web chat inbox, or a secret under 32 characters}
    """
    fields = await body(request, IdentitySecretBody)
    channel, address = path_value(request, "channel"), path_value(request, "address")
    async with services(request).pool.acquire() as conn, conn.transaction():
        status = await visitors.set_identity_secret(conn, channel, address, fields.secret)
        await note(
            request,
            conn,
            "inbox.identity_secret_set",
            brand_id=await org.brand_id(conn, status["brand"]),
            target_kind="inbox",
            target_id=f"{channel}:{address}",
            detail={"generated": fields.secret is None},  # never the secret
        )
    return JSON(status)


async def delete_identity_secret(request: Request) -> Response:
    """
    summary: Stop verifying visitors' identities in a web chat inbox (admin token)
    description: >
      Every identifier is refused from now on; visitors without one are unaffected.
    responses:
      200: {description: the inbox's identity verification, now off}
      401: {description: no admin token}
      404: {description: no such web chat inbox}
      422: {description: not a web chat inbox}
    """
    channel, address = path_value(request, "channel"), path_value(request, "address")
    async with services(request).pool.acquire() as conn, conn.transaction():
        status = await visitors.clear_identity_secret(conn, channel, address)
        await note(
            request,
            conn,
            "inbox.identity_secret_cleared",
            brand_id=await org.brand_id(conn, status["brand"]),
            target_kind="inbox",
            target_id=f"{channel}:{address}",
        )
    return JSON(status)


async def patch_contact(request: Request) -> Response:
    """
    summary: Set a contact's tier and lifetime value (admin token)
    body: ContactBody
    responses:
      200: {description: how many contacts have this email}
      400: {description: body is not JSON}
      401: {description: no admin token}
      404: {description: no contact with this email}
      422: {description: invalid field}
    """
    fields = await body(request, ContactBody)
    email = path_value(request, "email")
    async with services(request).pool.acquire() as conn, conn.transaction():
        count = await org.set_contact_profile(conn, email, tier=fields.tier, value=fields.value)
        # Contacts are named by id in the log, never by address (an erasure leaves it alone).
        for contact in await privacy.contacts_by_email(conn, email):
            await note(
                request,
                conn,
                "contact.changed",
                brand_id=contact["brand_id"],
                target_kind="contact",
                target_id=contact["id"],
                detail=fields.model_dump(exclude_unset=True),
            )
    return JSON({"contacts": count})


routes = [
    Route("/brands", list_brands, methods=["GET"]),
    Route("/brands/{slug}", put_brand, methods=["PUT"]),
    Route("/teams", list_teams, methods=["GET"]),
    Route("/teams/{slug}", put_team, methods=["PUT"]),
    Route("/teams/{slug}", delete_team, methods=["DELETE"]),
    Route("/skills", list_skills, methods=["GET"]),
    Route("/skills/{name}", put_skill, methods=["PUT"]),
    Route("/skills/{name}", delete_skill, methods=["DELETE"]),
    Route("/inboxes", list_inboxes, methods=["GET"]),
    Route("/inboxes/{channel}/{address}", put_inbox, methods=["PUT"]),
    Route("/inboxes/{channel}/{address}/team", put_inbox_team, methods=["PUT"]),
    Route("/inboxes/{channel}/{address}/identity-secret", get_identity_secret, methods=["GET"]),
    Route("/inboxes/{channel}/{address}/identity-secret", put_identity_secret, methods=["PUT"]),
    Route(
        "/inboxes/{channel}/{address}/identity-secret",
        delete_identity_secret,
        methods=["DELETE"],
    ),
    Route("/contacts/{email}", patch_contact, methods=["PATCH"]),
]
