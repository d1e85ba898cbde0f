"""The server's ConsoleBackend: the console's port over the store, the pipeline and the router."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import IO, Any
from uuid import UUID

from channels.base import Attachment, safe_filename
from nlu.base import Interpreter
from server import events, store
from server.dispatch.router import Router
from server.errors import Conflict, InvalidInput, NotFound
from server.events import Event
from server.live.bus import EventBus
from server.payloads import ActivityView, ConversationView, MessageView, NoteView
from server.pipeline.flow import Pipeline
from server.pipeline.messages import publish
from server.services import privacy
from server.services.agents import create_agent
from server.services.bot_catalog import BotCatalog
from server.services.bot_review import BotReview
from server.services.bot_studio import BotStudio
from server.services.bot_training import BotTraining
from server.services.brand_texts import BrandTexts, BrandTextService
from server.services.passwords import PasswordService
from server.services.suggestions import COUNT, Suggestions, SuggestionsView, with_drafts
from server.services.summaries import PanelContext, ReplyDraft, Summaries, SummaryAnswer
from server.services.teamwork import Teamwork
from server.store import Pool, activities, audit, context, event_log, mail, people, profiles
from server.store import labels as labels_store
from server.store import privacy as privacy_store
from server.store import search as search_store
from server.store.audit import AuditPage
from server.store.brand_texts import BrandText, Kind
from server.store.canned import CannedView, RenderedCanned
from server.store.labels import FilterOptions
from server.store.search import SearchPage
from web_console import access
from web_console.access import Placement
from web_console.bot_views import FlowList, IntentDetail, IntentList, ResponseList
from web_console.port import (
    EVERYTHING,
    ActionRefused,
    Agent,
    BadValue,
    ContactEdit,
    Forbidden,
    ListFilter,
    Unknown,
    UploadedFile,
)

PAGE = 500


@contextlib.asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    """The server's errors as the console port names them."""
    try:
        yield
    except NotFound as exc:
        raise Unknown(str(exc)) from None
    except Conflict as exc:
        raise ActionRefused(str(exc)) from None
    except InvalidInput as exc:
        raise BadValue(str(exc)) from None


class ConsoleBackendImpl:
    """ConsoleBackend over the store, the pipeline and the router. Every lookup and action is
    scoped to what the agent may see (web_console/access.py): another brand's conversation,
    message or file is Unknown, as if it did not exist."""

    def __init__(
        self,
        pool: Pool,
        pipeline: Pipeline,
        router: Router,
        bus: EventBus | None = None,
        passwords: PasswordService | None = None,
        *,
        summaries: Summaries | None = None,
        interpreter: Interpreter | None = None,
        human_intents: frozenset[str] = frozenset(),
    ) -> None:
        self._pool = pool
        self._pipeline = pipeline
        self._router = router
        # Invites from the people area (server/services/passwords.py).
        self._passwords = passwords
        # Tells the consoles of an erasure (its conversations' anonymised views).
        self._bus = bus
        self._teamwork = Teamwork(pool, bus)
        # The handoff summary at the top of the context panel (and a chat model's, if set).
        self._summaries = summaries or Summaries(pool, None)
        self._brand_texts = BrandTextService(pool)
        # The bot's engine, for what the console shows of its project.
        self._interpreter = interpreter
        # What the Bot area reads of the project that engine loaded (issue 19).
        self._bot_catalog = BotCatalog(interpreter, human_intents)
        # Edits of that project's files, each a version (issue 19).
        self.bot_studio: BotStudio | None = BotStudio(pool, interpreter)

    async def _placed(self, agent: Agent, conversation_id: str, *, act: bool = False) -> Placement:
        """Where the conversation sits; Unknown unless the agent may see it, Forbidden when
        ``act`` and their role there only reads."""
        if not _is_uuid(conversation_id):
            raise Unknown(f"no conversation {conversation_id}")
        key = str(UUID(conversation_id))  # as the store spells it, whatever the client's case
        async with self._pool.acquire() as conn:
            where = (await store.placements(conn, [key])).get(key)
        if where is None or not access.may_see(agent, where):
            raise Unknown(f"no conversation {conversation_id}")
        if act and not access.may_act(agent, where):
            raise Forbidden("your role in this brand only reads conversations")
        return where

    async def _audit(
        self,
        agent: Agent,
        action: str,
        where: Placement,
        conversation_id: str,
        detail: Mapping[str, object] | None = None,
    ) -> None:
        """An audit entry for an agent's action on a conversation, once it has succeeded."""
        async with self._pool.acquire() as conn:
            await audit.record(
                conn,
                action=action,
                actor_id=agent.id,
                actor_label=agent.email,
                brand_id=where.brand_id,
                target_kind="conversation",
                target_id=conversation_id,
                detail=detail,
            )

    async def _message_placed(self, agent: Agent, message_id: int) -> None:
        async with self._pool.acquire() as conn:
            found = await store.placement_of_message(conn, message_id)
        if found is None or not access.may_see(agent, found[1]):
            raise Unknown(f"no message {message_id}")

    async def conversations(
        self,
        agent: Agent,
        statuses: list[str],
        before: str | None = None,
        only: ListFilter = EVERYTHING,
    ) -> tuple[list[ConversationView], str | None]:
        async with self._pool.acquire() as conn, _translated():
            found, cursor = await store.conversations(
                conn, statuses, access.reach(agent), before=_cursor(before), only=only
            )
        return found, _cursor_text(cursor)

    async def edit_contact(
        self, agent: Agent, conversation_id: str, change: ContactEdit
    ) -> ConversationView:
        where = await self._placed(agent, conversation_id, act=True)
        async with self._pool.acquire() as conn, _translated(), conn.transaction():
            conv = await store.conversation_row(conn, conversation_id)
            try:
                changed = await profiles.update_profile(conn, conv["contact_id"], change)
            except profiles.Erased:
                raise ActionRefused("the customer was erased: their profile stays empty") from None
            # Every conversation of theirs shows the new name in the lists.
            told = await profiles.recent_conversations(conn, conv["contact_id"])
            views = await store.conversations_by_id(conn, told)
            stored = await _updated(conn, views, "contact_updated")
        await self._publish(stored)
        # Which fields, never their values: the log keeps no personal data (docs/privacy.md).
        await self._audit(agent, "contact.updated", where, conversation_id, {"fields": changed})
        return await self.conversation(agent, conversation_id)

    async def set_labels(
        self, agent: Agent, conversation_id: str, labels: Sequence[str]
    ) -> ConversationView:
        await self._placed(agent, conversation_id, act=True)
        async with self._pool.acquire() as conn, _translated(), conn.transaction():
            await labels_store.set_labels(conn, conversation_id, labels)
            view = await store.conversation(conn, conversation_id)
            stored = await _updated(conn, [view], "labelled")
        await self._publish(stored)
        return view

    async def _publish(self, stored: list[Event]) -> None:
        """Publish events once committed (write first, then publish)."""
        if self._bus is not None:
            await publish(self._bus, stored)

    async def filter_options(self, agent: Agent) -> FilterOptions:
        async with self._pool.acquire() as conn:
            return await labels_store.filter_options(conn, access.reach(agent))

    async def conversation(self, agent: Agent, conversation_id: str) -> ConversationView:
        await self._placed(agent, conversation_id)
        async with self._pool.acquire() as conn, _translated():
            return await store.conversation(conn, conversation_id)

    async def messages_after(
        self, agent: Agent, conversation_id: str, after_seq: int
    ) -> list[MessageView]:
        await self._placed(agent, conversation_id)
        async with self._pool.acquire() as conn, _translated():
            return await store.messages_after(conn, conversation_id, after_seq, PAGE)

    async def activities(self, agent: Agent, conversation_id: str) -> list[ActivityView]:
        await self._placed(agent, conversation_id)
        async with self._pool.acquire() as conn, _translated():
            return await activities.of_conversation(conn, conversation_id)

    async def context(self, agent: Agent, conversation_id: str) -> PanelContext:
        await self._placed(agent, conversation_id)
        async with self._pool.acquire() as conn, _translated():
            found = await context.conversation_context(
                conn, UUID(conversation_id), access.reach(agent)
            )
        async with _translated():
            summary = await self._summaries.extractive(UUID(conversation_id))
        return PanelContext(**found, summary=summary)

    async def summary(self, agent: Agent, conversation_id: str) -> SummaryAnswer:
        await self._placed(agent, conversation_id)
        async with _translated():
            return await self._summaries.summary(UUID(conversation_id))

    async def reply_drafts(
        self, agent: Agent, conversation_id: str, wait: float = 0.0
    ) -> list[ReplyDraft]:
        """A chat model's reply drafts for the conversation (none without one), for the
        suggested replies: only what is ready within ``wait`` seconds."""
        await self._placed(agent, conversation_id)
        async with _translated():
            return await self._summaries.drafts(UUID(conversation_id), wait)

    # Suggested replies; the composition root sets it (None: the console is offered none).
    suggester: Suggestions | None = None
    # The trainer review inbox and bot health (issue 19); the composition root sets it.
    bot_review: BotReview | None = None
    # Validate, train, test and evaluate the bot (issue 19); the composition root sets it.
    bot_trainer: BotTraining | None = None

    async def suggestions(self, agent: Agent, conversation_id: str) -> SuggestionsView:
        await self._placed(agent, conversation_id)
        if self.suggester is None:
            return SuggestionsView(suggestions=[], language="en", tone="neutral")
        view = await self.suggester.for_conversation(UUID(conversation_id), access.reach(agent))
        if len(view["suggestions"]) >= COUNT or not self._summaries.llm:
            return view
        # Only drafts already made (the panel's summary asks the model); none are waited for.
        async with _translated():
            drafts = await self._summaries.drafts(UUID(conversation_id))
        return with_drafts(view, [d["text"] for d in drafts])

    async def search(self, agent: Agent, query: str, before: int | None) -> SearchPage:
        async with self._pool.acquire() as conn:
            return await search_store.search(conn, query, access.reach(agent), before)

    async def placements(self, conversation_ids: list[str]) -> dict[str, Placement]:
        async with self._pool.acquire() as conn:
            return await store.placements(conn, [i for i in conversation_ids if _is_uuid(i)])

    async def merge_contact(
        self, agent: Agent, conversation_id: str, other: str
    ) -> ConversationView:
        where = await self._placed(agent, conversation_id, act=True)
        async with _translated():
            view = await self._pipeline.merge_contacts(conversation_id, other)
        # Contacts are named by id only (the log keeps no personal data; docs/privacy.md).
        await self._audit(
            agent, "contact.merged", where, conversation_id, {"into": view["contact"]["id"]}
        )
        return await self.conversation(agent, conversation_id)

    async def attachment(
        self, agent: Agent, message_id: int, position: int
    ) -> tuple[str, str, bytes]:
        await self._message_placed(agent, message_id)
        async with self._pool.acquire() as conn:
            found = await store.attachment(conn, message_id, position)
        if found is None:
            raise Unknown(f"no attachment {position} on message {message_id}")
        return found

    async def original(self, agent: Agent, message_id: int) -> bytes:
        await self._message_placed(agent, message_id)
        async with self._pool.acquire() as conn:
            raw = await mail.raw_of_message(conn, message_id)
        if raw is None:
            raise Unknown(f"message {message_id} did not come by mail")
        return raw

    async def reply(
        self,
        agent: Agent,
        conversation_id: str,
        text: str,
        client_id: str,
        files: Sequence[UploadedFile] = (),
    ) -> tuple[MessageView, bool]:
        await self._placed(agent, conversation_id, act=True)
        attachments = tuple(
            Attachment(safe_filename(f.filename, f.content_type, n + 1), f.content_type, f.content)
            for n, f in enumerate(files)
        )
        async with _translated():
            stored = await self._pipeline.reply(
                agent.id, conversation_id, text, client_id, attachments
            )
        return stored.message, stored.duplicate

    async def return_to_bot(self, agent: Agent, conversation_id: str) -> ConversationView:
        where = await self._placed(agent, conversation_id, act=True)
        async with _translated():
            await self._pipeline.return_to_bot(agent.id, conversation_id)
        await self._audit(agent, "conversation.returned_to_bot", where, conversation_id)
        return await self.conversation(agent, conversation_id)

    async def queue(
        self, agent: Agent, first: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        return await self._router.queue_view(lambda where: access.may_see(agent, where), first)

    async def claim(self, agent: Agent, conversation_id: str) -> ConversationView:
        where = await self._placed(agent, conversation_id, act=True)
        async with _translated():
            await self._router.claim(agent.id, conversation_id)
        await self._audit(agent, "conversation.claimed", where, conversation_id)
        return await self.conversation(agent, conversation_id)

    async def transfer(
        self, agent: Agent, conversation_id: str, to_agent: str | None, to_team: str | None
    ) -> ConversationView:
        where = await self._placed(agent, conversation_id, act=True)
        async with _translated():
            await self._router.transfer(
                agent.id, conversation_id, to_agent=to_agent, to_team=to_team
            )
            await self._audit(
                agent,
                "conversation.transferred",
                where,
                conversation_id,
                {"to_agent": to_agent} if to_agent else {"to_team": to_team},
            )
            # The conversation may now sit where the agent cannot see it.
            async with self._pool.acquire() as conn:
                return await store.conversation(conn, conversation_id)

    async def resolve(self, agent: Agent, conversation_id: str) -> ConversationView:
        where = await self._placed(agent, conversation_id, act=True)
        async with _translated():
            await self._router.resolve(agent.id, conversation_id)
        await self._audit(agent, "conversation.resolved", where, conversation_id)
        # The customer is asked to rate it on their channel (server/pipeline/survey.py).
        await self._pipeline.ask_rating(conversation_id, agent.id)
        return await self.conversation(agent, conversation_id)

    async def set_status(self, agent: Agent, status: str) -> Mapping[str, Any]:
        async with _translated():
            return await self._router.set_status(agent.id, status)

    async def agent_view(self, agent: Agent) -> Mapping[str, Any]:
        async with _translated():
            return await self._router.agent_view(agent.id)

    async def overview(self, agent: Agent) -> dict[str, Any]:
        brands = None if agent.admin else sorted(access.brands_where(agent, access.REPORTS))
        return await self._router.overview(brands)

    async def bot(self, agent: Agent) -> Mapping[str, Any]:
        """The engine's state as /readyz has it, less where its files are on disk."""
        if self._interpreter is None:
            return {"kind": "none", "unsupported": []}
        state = self._interpreter.state()
        shown = ("kind", "fingerprint", "intents", "languages", "unsupported", "error")
        return {"unsupported": [], **{k: state[k] for k in shown if k in state}}

    async def bot_intents(self, agent: Agent) -> IntentList:
        return await self._bot_catalog.intents()

    async def bot_intent(self, agent: Agent, name: str) -> IntentDetail:
        found = await self._bot_catalog.intent(name)
        if found is None:
            raise Unknown(f"no intent {name!r} in the bot's project")
        return found

    async def bot_responses(self, agent: Agent) -> ResponseList:
        return await self._bot_catalog.responses()

    async def bot_flows(self, agent: Agent) -> FlowList:
        return await self._bot_catalog.flows()

    async def bot_domain(self, agent: Agent) -> Mapping[str, Any]:
        return await self._bot_catalog.domain()

    async def directory(self, agent: Agent) -> dict[str, Any]:
        """The teams and agents of the brands where the agent may act."""
        brands = None if agent.admin else sorted(access.brands_where(agent, access.ACTING))
        overview = await self._router.overview(brands)
        return {
            "teams": [
                {"id": t["id"], "name": t["name"], "brand_id": t["brand_id"]}
                for t in overview["teams"]
            ],
            "agents": [
                {k: a[k] for k in ("id", "name", "status", "load", "capacity")}
                for a in overview["agents"]
            ],
        }

    # ---- teamwork: notes and canned responses (server/services/teamwork.py) ----

    async def notes(self, agent: Agent, conversation_id: str, after_id: int) -> list[NoteView]:
        await self._placed(agent, conversation_id)
        return await self._teamwork.notes(conversation_id, after_id)

    async def add_note(
        self, agent: Agent, conversation_id: str, text: str, mentions: Sequence[str]
    ) -> NoteView:
        await self._placed(agent, conversation_id, act=True)
        async with _translated():
            return await self._teamwork.add_note(agent.id, conversation_id, text, mentions)

    async def canned_for(
        self, agent: Agent, conversation_id: str, query: str
    ) -> list[RenderedCanned]:
        where = await self._placed(agent, conversation_id)
        view = await self.conversation(agent, conversation_id)
        values = {
            "contact.name": view["contact"]["name"],
            "contact.email": view["contact"]["email"],
            "agent.name": agent.name,
            "conversation.id": conversation_id,
        }
        return await self._teamwork.canned_for(where.brand_id, values, query)

    async def canned(self, agent: Agent, brand_id: str | None, query: str) -> list[CannedView]:
        """The responses of the brand (or of every brand the agent holds a role in)."""
        if brand_id is not None:
            if not agent.admin and brand_id not in agent.roles:
                raise Unknown(f"no brand {brand_id}")
            return await self._teamwork.canned([brand_id], query)
        return await self._teamwork.canned(None if agent.admin else sorted(agent.roles), query)

    async def put_canned(
        self,
        agent: Agent,
        brand_id: str | None,
        shortcut: str,
        title: str,
        text: str,
        canned_id: str | None = None,
    ) -> CannedView:
        async with _translated():
            if canned_id is not None:
                brand_id = await self._teamwork.canned_brand(canned_id)
            if brand_id is None:
                raise BadValue("brand_id: name the brand")
            _may_manage(agent, brand_id)
            return await self._teamwork.put_canned(
                (agent.id, agent.email), brand_id, shortcut, title, text, canned_id
            )

    async def delete_canned(self, agent: Agent, canned_id: str) -> None:
        async with _translated():
            _may_manage(agent, await self._teamwork.canned_brand(canned_id))
            await self._teamwork.delete_canned((agent.id, agent.email), canned_id)

    # ---- a brand's greeting and closing message (server/services/brand_texts.py) ----

    async def brand_texts(self, agent: Agent) -> list[BrandTexts]:
        return await self._brand_texts.texts(agent)

    async def put_brand_text(
        self, agent: Agent, brand_id: str, kind: str, language: str, text: str
    ) -> BrandText:
        return await self._brand_texts.put(agent, brand_id, _kind(kind), language, text)

    async def reset_brand_text(
        self, agent: Agent, brand_id: str, kind: str, language: str
    ) -> BrandText:
        return await self._brand_texts.reset(agent, brand_id, _kind(kind), language)

    async def _contact_brand(self, agent: Agent, contact_id: str) -> str:
        """The contact's brand, where the agent must supervise (or be an admin): Unknown
        when they hold no role there, Forbidden when they hold another."""
        async with self._pool.acquire() as conn, _translated():
            brand = await privacy_store.contact_brand(conn, contact_id)
        if agent.admin or "supervisor" in agent.roles.get(brand, frozenset()):
            return brand
        if brand in agent.roles:
            raise Forbidden("supervisors and admins only: a contact's data rights")
        raise Unknown(f"no contact {contact_id!r}")

    async def export_contact(self, agent: Agent, contact_id: str, out: IO[bytes]) -> None:
        await self._contact_brand(agent, contact_id)
        async with _translated():
            await privacy.export_contact(self._pool, contact_id, out, _actor(agent))

    async def erase_contact(
        self, agent: Agent, contact_id: str, confirm: bool
    ) -> Mapping[str, Any]:
        await self._contact_brand(agent, contact_id)
        if not confirm:
            raise BadValue("confirm: must be true to erase a contact")
        async with _translated():
            erased = await privacy.erase_contact(self._pool, contact_id, _actor(agent), self._bus)
        return {"contact": contact_id, "erased": erased}

    async def audit_log(
        self,
        action: str | None,
        actor: str | None,
        since: str | None,
        until: str | None,
        before: int | None,
    ) -> AuditPage:
        """A page of the audit log, newest first (admins: the endpoint checks)."""
        async with _translated():
            query = audit.AuditQuery(
                action=audit.action_filter(action) if action else None,
                actor=actor or None,
                since=audit.moment("since", since) if since else None,
                until=audit.moment("until", until) if until else None,
                before=before,
                limit=50,
            )
            async with self._pool.acquire() as conn:
                return await audit.entries(conn, query)

    async def invite(
        self,
        agent: Agent,
        email: str,
        name: str,
        brand_id: str,
        roles: Sequence[str],
        team_ids: Sequence[str],
    ) -> dict[str, Any]:
        """A new colleague with these roles and teams in the brand, and no password: they are
        mailed a link to set one (the link is returned when no mail could go)."""
        if self._passwords is None:
            raise ActionRefused("invites need the server's mail settings")
        async with _translated():
            async with self._pool.acquire() as conn:
                brand = next(
                    (b for b in await people.brands_and_teams(conn) if b["id"] == brand_id), None
                )
            if brand is None:
                raise NotFound(f"no brand {brand_id}")
            created = await create_agent(
                self._pool, email=email, name=name, password=None, brand=brand["slug"]
            )
            async with self._pool.acquire() as conn:
                try:
                    await people.set_access(
                        conn, created.id, brand_id, roles=roles, team_ids=team_ids, admin=False
                    )
                except (InvalidInput, NotFound):
                    # Refused (a team of another brand): no half-made colleague stays behind.
                    await people.forget(conn, created.id)
                    raise
                await audit.record(
                    conn,
                    action="agent.created",
                    actor_id=agent.id,
                    actor_label=agent.email,
                    brand_id=brand_id,
                    target_kind="agent",
                    target_id=created.id,
                    detail={"roles": sorted(roles), "team_ids": sorted(team_ids)},
                )
            made = await self._passwords.invite(created.id, actor=agent.email, actor_id=agent.id)
            async with self._pool.acquire() as conn:
                person = await people.person(conn, created.id)
        self._router.wake()
        answer: dict[str, Any] = {"person": person, "mailed": made.mailed}
        if not made.mailed:
            answer["link"] = made.link
        return answer

    async def people(self) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            return {
                "brands": await people.brands_and_teams(conn),
                "people": await people.people(conn),
            }

    async def set_access(
        self,
        agent: Agent,
        target_id: str,
        brand_id: str,
        roles: Sequence[str],
        team_ids: Sequence[str],
        admin: bool,
    ) -> tuple[Mapping[str, Any], bool]:
        async with self._pool.acquire() as conn, _translated():
            changed = await people.set_access(
                conn, target_id, brand_id, roles=roles, team_ids=team_ids, admin=admin
            )
            await audit.record(
                conn,
                action="agent.access_changed",
                actor_id=agent.id,
                actor_label=agent.email,
                brand_id=brand_id,
                target_kind="agent",
                target_id=target_id,
                detail={"roles": sorted(roles), "team_ids": sorted(team_ids), "admin": admin},
            )
            person = await people.person(conn, target_id)
        self._router.wake()  # new team members may take waiting conversations
        return person, changed

    async def event_ids_since(self, last_event_id: int, through: int, limit: int) -> list[int]:
        async with self._pool.acquire() as conn:
            return await event_log.event_ids_since(conn, last_event_id, through, limit)

    async def events_by_id(self, ids: list[int]) -> list[dict[str, Any]]:
        async with self._pool.acquire() as conn:
            found = await event_log.events_by_id(conn, ids)
        return [_event_frame(e) for e in found]

    async def last_event_id(self) -> int:
        async with self._pool.acquire() as conn:
            return await store.last_event_id(conn)

    async def typing(self, agent: Agent, conversation_id: str, active: bool) -> None:
        try:
            await self._placed(agent, conversation_id, act=True)
        except (Unknown, Forbidden):
            return  # a typing notice is a hint: one for a conversation not theirs is dropped
        await self._pipeline.typing(
            conversation_id, "agent", active, {"id": agent.id, "name": agent.name}
        )

    async def viewing(self, agent: Agent, conversation_id: str, active: bool) -> None:
        try:
            await self._placed(agent, conversation_id)
        except Unknown:
            return  # a hint too: nobody is told of a conversation they may not see
        await self._pipeline.viewing(conversation_id, {"id": agent.id, "name": agent.name}, active)


def _event_frame(e: Event) -> dict[str, Any]:
    """A stored event as the console's socket sends it."""
    return {"id": e.id, "name": e.name, "conversation_id": e.conversation_id, "data": e.data}


def _kind(kind: str) -> Kind:
    """A brand text's kind as the endpoint checked it."""
    if kind == "greeting":
        return "greeting"
    if kind == "closing":
        return "closing"
    raise BadValue(f"kind: {kind!r} is neither 'greeting' nor 'closing'")


def _may_manage(agent: Agent, brand_id: str) -> None:
    """A brand's settings (canned responses): its supervisors and admins; Unknown for those
    with no role there, Forbidden for another role."""
    if agent.admin or "supervisor" in agent.roles.get(brand_id, frozenset()):
        return
    if brand_id in agent.roles:
        raise Forbidden("supervisors and admins only: the brand's canned responses")
    raise Unknown(f"no brand {brand_id}")


def _actor(agent: Agent) -> privacy.Actor:
    return privacy.Actor(label=agent.email, id=agent.id)


async def _updated(conn: store.Conn, views: Sequence[ConversationView], change: str) -> list[Event]:
    """Store a conversation.updated event per view, in the caller's transaction."""
    return await store.store_events(
        conn,
        [
            Event(events.CONVERSATION_UPDATED, v["id"], {"conversation": v, "change": change})
            for v in views
        ],
    )


def _cursor(text: str | None) -> tuple[datetime, UUID] | None:
    """A list cursor from the client ("<ISO time>~<id>"); BadValue when malformed."""
    if text is None:
        return None
    when, _, key = text.partition("~")
    try:
        return datetime.fromisoformat(when), UUID(key)
    except ValueError:
        raise BadValue("before: not a cursor this list gave") from None


def _cursor_text(cursor: tuple[datetime, UUID] | None) -> str | None:
    return None if cursor is None else f"{cursor[0].isoformat()}~{cursor[1]}"


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True
