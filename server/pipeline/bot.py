"""The bot: which NLU engine serves, the custom actions the embedded engine runs in-process,
and the policy and texts the decision uses (the HTTP API Rasa's action server calls back is
``server.http.bot_api``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

import structlog

from nlu.base import Interpreter
from nlu.embedded import ActionContext, EmbeddedInterpreter, Model, load_or_train
from nlu.rasa import RasaInterpreter
from routing.decision import BotPolicy, Texts
from routing.knowledge import KbPolicy
from server import store
from server.errors import ConfigurationError
from server.settings import Settings
from server.store import Pool

log = structlog.get_logger(__name__)


def cache_dir(settings: Settings) -> Path:
    return settings.nlu_cache_dir or settings.data_dir / "nlu"


async def build_interpreter(settings: Settings, pool: Pool) -> Interpreter | None:
    """The configured engine. The embedded model is loaded (trained when its files changed)
    even for Rasa: it tells which languages the project speaks."""
    kind = settings.nlu_kind
    if kind == "none":
        return None
    model: Model = await asyncio.to_thread(load_or_train, settings.nlu_project, cache_dir(settings))
    if "bot_human_intents" in settings.model_fields_set:
        # Set by the operator: every name must mean something. The default list names the
        # shipped bot's intents; with another project, those it lacks simply never match.
        check_human_intents(settings.bot_human_intents, model.project.intents, settings.nlu_project)
    if kind == "rasa":
        if not settings.rasa_url:
            raise ValueError("SWITCHBOARD_NLU_ENGINE=rasa needs SWITCHBOARD_RASA_URL")
        token = settings.rasa_token.get_secret_value() if settings.rasa_token else None
        return RasaInterpreter(settings.rasa_url, model.languages, token=token)
    embedded = EmbeddedInterpreter(
        settings.nlu_project,
        cache_dir(settings),
        model,
        actions={"action_check_order_status": OrderStatusAction(pool)},
        action_server_url=settings.action_server_url,
        duckling_url=settings.duckling_url,
    )
    embedded.start_watching()
    return embedded


def check_human_intents(named: Iterable[str], defined: Iterable[str], project: Path) -> None:
    """Refuse SWITCHBOARD_BOT_HUMAN_INTENTS naming intents the project does not have: such a
    name never matches, and the customers it was meant for silently stay with the bot."""
    unknown = sorted(set(named) - set(defined))
    if unknown:
        raise ConfigurationError(
            f"SWITCHBOARD_BOT_HUMAN_INTENTS names intents the bot's project ({project}) does"
            f" not define: {', '.join(unknown)}"
        )


def bot_policy(settings: Settings, interpreter: Interpreter | None) -> BotPolicy:
    return BotPolicy(
        enabled=interpreter is not None,
        confidence_threshold=settings.bot_confidence_threshold,
        max_fallbacks=settings.bot_max_fallbacks,
        sentiment_threshold=settings.bot_sentiment_threshold,
        sentiment_trend_threshold=settings.bot_sentiment_trend_threshold,
        human_intents=frozenset(settings.bot_human_intents),
        vip_to_human=settings.bot_vip_to_human,
    )


def kb_policy(settings: Settings) -> KbPolicy:
    """The knowledge-base step's knobs (SWITCHBOARD_KB_*; routing/knowledge.py)."""
    return KbPolicy(
        enabled=settings.kb_enabled,
        faq_intents=frozenset(settings.kb_faq_intents),
        confidence_threshold=settings.kb_confidence_threshold,
        min_similarity=dict(settings.kb_min_similarity),
        default_similarity=settings.kb_default_similarity,
        max_articles=settings.kb_max_articles,
    )


def texts(settings: Settings) -> Texts:
    defaults = Texts()
    return Texts(
        handoff={**defaults.handoff, "en": settings.auto_ack_text}, off_hours=defaults.off_hours
    )


class OrderStatusAction:
    """The project's ``action_check_order_status``, for the embedded engine: the same lookup
    and the same responses as ``nlu/rasa_project/actions/actions.py`` over the bot API."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def __call__(self, context: ActionContext) -> None:
        number = context.slots.get("order_number")
        if not number:
            context.utter("utter_ask_order_number", action="action_check_order_status")
            return
        number = str(number).lstrip("#")
        async with self._pool.acquire() as conn:
            order = await store.order_by_number(conn, number, context.conversation_id)
        if order is None:
            context.utter(
                "utter_order_not_found", action="action_check_order_status", order_number=number
            )
            return
        described = store.describe_order(order, context.language)
        context.utter(
            "utter_order_status",
            action="action_check_order_status",
            order_number=number,
            order_state=described["status_text"],
            order_detail=described["detail_text"],
        )
