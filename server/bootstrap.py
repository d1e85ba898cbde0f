"""The composition root: the only place that picks concrete adapters and wires them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import structlog

import channels.email
import channels.slack
import channels.telegram
import channels.webchat
from channels.base import Capabilities
from channels.email.relay import Relay, RelayConfig
from channels.email.smtp import SmtpConfig, SmtpServer
from channels.email.workers import ParserPool
from channels.webchat.hub import WebchatHub
from channels.webchat.token import VisitorTokens
from nlu import embedding
from nlu.base import Interpreter
from nlu.llm import ChatModel
from nlu.understanding import Understanding
from nlu.understanding import load_models as understanding_models
from routing.hours import parse_hours
from server.delivery.outbox import Deliverer, Outbox
from server.dispatch.router import Router
from server.dispatch.sweeps import Sweeps
from server.live.bus import EventBus, InProcessBus, RedisBus
from server.live.presence import LocalPresence, RedisPresence
from server.metrics import Metrics
from server.pipeline import bot as assistant
from server.pipeline.flow import Pipeline
from server.pipeline.knowledge import Knowledge
from server.services import fanout
from server.services.account_mail import AccountMailer
from server.services.agents import AgentStore
from server.services.api_tokens import TokenService
from server.services.article_suggestions import ArticleSuggestions
from server.services.backends import ConsoleBackendImpl
from server.services.bot_review import BotReview
from server.services.bot_training import BotTraining, training_setup
from server.services.embedder import Embedder, WordLlamaEmbedder
from server.services.kb import KnowledgeBase
from server.services.mail_delivery import MailDelivery
from server.services.mailroom import Mailroom
from server.services.passwords import PasswordService
from server.services.second_factor import SecondFactorService
from server.services.suggestions import Suggestions, bot_answers
from server.services.summaries import Summaries
from server.services.warm_up import WarmUp
from server.services.webchat_backend import WebchatBackendImpl
from server.settings import Settings
from server.store import Pool, database
from web_console.account_port import Accounts
from web_console.hub import ConsoleHub

if TYPE_CHECKING:
    from server.services.slack import SlackService
    from server.services.telegram import TelegramBots

log = structlog.get_logger(__name__)

T = TypeVar("T")

# What each channel can show (each channel package declares its own); the pipeline degrades
# bot buttons and images for the others.
CAPABILITIES: dict[str, Capabilities] = {
    "webchat": channels.webchat.CAPABILITIES,
    "email": channels.email.CAPABILITIES,
    "telegram": channels.telegram.CAPABILITIES,
    "slack": channels.slack.CAPABILITIES,
}


@dataclass
class Services:
    """Everything a running node holds; built by ``start`` and released by ``stop``."""

    settings: Settings
    metrics: Metrics
    pool: Pool
    bus: EventBus
    pipeline: Pipeline
    interpreter: Interpreter | None
    tokens: VisitorTokens
    agents: AgentStore
    webchat_backend: WebchatBackendImpl
    console_backend: ConsoleBackendImpl
    webchat_hub: WebchatHub
    console_hub: ConsoleHub
    embedded: database.EmbeddedPostgres | None
    router: Router
    sweeps: Sweeps
    mailroom: Mailroom
    outbox: Outbox
    # None when SMTP is turned off (SWITCHBOARD_SMTP_ENABLED=false).
    smtp: SmtpServer | None
    # None without SWITCHBOARD_TELEGRAM_BOT_TOKEN.
    telegram: TelegramBots | None
    # None without SWITCHBOARD_SLACK_SIGNING_SECRET and SWITCHBOARD_SLACK_BOT_TOKEN.
    slack: SlackService | None
    # Passwords, second factors and API tokens (agents are the sessions); account mail.
    accounts: Accounts
    passwords: PasswordService
    api_tokens: TokenService
    account_mail: AccountMailer
    # Embeds customer messages after they are stored, for suggested replies.
    embedder: Embedder | None = None
    # Handoff summaries (a chat model's too with SWITCHBOARD_LLM_URL).
    summaries: Summaries | None = None
    # The knowledge base: articles, their search, the help center (issue 18).
    kb: KnowledgeBase | None = None
    # Models the first customer message would load, loaded once the node listens.
    warm_up: WarmUp | None = None


async def open_database(
    settings: Settings,
) -> tuple[Pool, database.EmbeddedPostgres | None]:
    """The pool (migrated), and the embedded server when no URL is configured."""
    embedded = None
    if settings.database_url is None:
        embedded = database.EmbeddedPostgres(settings.data_dir)
        # In a thread: it waits for the postmaster (seconds on a first run's initdb), while
        # the event loop goes on loading the models (``start``).
        dsn = await asyncio.to_thread(embedded.start)
    else:
        dsn = settings.database_url.get_secret_value()
    try:
        pool = await database.create_pool(
            dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        await database.migrate(pool)
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    return pool, embedded


@contextlib.asynccontextmanager
async def database_only(settings: Settings) -> AsyncIterator[Pool]:
    """The migrated database alone, for one-shot commands (migrate, seed-demo, agent create)."""
    pool, embedded = await open_database(settings)
    try:
        yield pool
    finally:
        await pool.close()
        if embedded is not None:
            embedded.stop()


def _console_presence(presence: LocalPresence, router: Router, agent_id: str, here: bool) -> None:
    """The console hub's presence callback: count the socket; a console connecting brings
    its agent back online if the presence sweep had made them away (issue 21)."""
    if here:
        presence.connected(agent_id)
        router.console_connected(agent_id)
    else:
        presence.disconnected(agent_id)


def _now() -> datetime:
    return datetime.now(UTC)


class _Steps:
    """Start-up steps that may take seconds, logged when they begin and when they end, so a
    first run (initdb, training the bot's model) is never a silent minute."""

    def __init__(self) -> None:
        self._started = time.perf_counter()

    @contextlib.asynccontextmanager
    async def step(self, name: str, **details: object) -> AsyncIterator[None]:
        began = time.perf_counter()
        log.info(f"starting: {name}", **details)
        yield
        log.info(
            f"ready: {name}",
            seconds=round(time.perf_counter() - began, 2),
            since_start=round(time.perf_counter() - self._started, 2),
        )

    async def run(self, name: str, work: Awaitable[T]) -> T:
        async with self.step(name):
            return await work


async def start(settings: Settings, clock: Callable[[], datetime] = _now) -> Services:
    """Start a node. ``clock`` is what routing and the SLA timers call "now" (tests move it).

    The slow parts overlap: the language detector's models load in a thread, and the mail
    parser's worker processes start, while the database starts and the bot's model loads.
    Everything is loaded when this returns (the first request never waits for a model).
    """
    metrics = Metrics()
    steps = _Steps()
    languages = asyncio.create_task(
        steps.run("language and sentiment models", asyncio.to_thread(understanding_models))
    )
    parser = ParserPool(settings.mail_parse_workers, settings.mail_parse_seconds)
    parsers = asyncio.create_task(steps.run("mail parser workers", parser.warm_up()))
    try:
        async with steps.step("database", embedded=settings.database_url is None):
            pool, embedded = await open_database(settings)
    except BaseException:
        await _abandon(languages, parsers, parser)
        raise
    bus: EventBus
    if settings.redis_url is not None:
        bus = RedisBus(settings.redis_url.get_secret_value(), metrics)
        bus.fill_gaps_from(pool)
    else:
        bus = InProcessBus(metrics)
    try:
        await bus.start()
        async with steps.step("bot model", engine=settings.nlu_kind):
            interpreter = await assistant.build_interpreter(settings, pool)
        await languages
        await parsers
    except BaseException:
        await _abandon(languages, parsers, parser)
        with contextlib.suppress(Exception):
            await bus.close()
        await pool.close()
        if embedded is not None:
            embedded.stop()
        raise
    understanding = Understanding(interpreter)
    presence = (
        RedisPresence(settings.redis_url.get_secret_value(), settings.presence_heartbeat_seconds)
        if settings.redis_url is not None
        else LocalPresence()
    )
    await presence.start()
    hours = parse_hours(settings.business_hours) if settings.business_hours else None
    kb = KnowledgeBase(pool, WordLlamaEmbedder())
    router = Router(
        pool,
        bus,
        metrics,
        presence,
        settings.weights(),
        clock=clock,
        default_hours=hours,
        assign_interval=settings.assign_interval_seconds,
    )
    sweeps = Sweeps(
        pool,
        bus,
        metrics,
        router,
        interval=settings.sweep_seconds,
        grace_seconds=settings.presence_grace_seconds,
        kb_settle_seconds=settings.kb_settle_hours * 3600,
    )
    pipeline = Pipeline(
        pool,
        bus,
        metrics,
        understanding,
        assistant.bot_policy(settings, interpreter),
        assistant.texts(settings),
        hours,
        clock=clock,
        router=router,
        capabilities=CAPABILITIES,
        # The bot answers from the knowledge base when no intent covers a message (issue 18).
        knowledge=Knowledge(kb, assistant.kb_policy(settings), settings.base_url),
        overload_lag=settings.overload_lag_ms / 1000 or None,
    )
    tokens = VisitorTokens(settings.signing_key(), settings.visitor_token_ttl)
    agents = AgentStore(
        pool,
        idle_seconds=settings.console_idle_seconds,
        absolute_seconds=settings.console_session_ttl,
        clock=clock,
    )
    deliverers: dict[str, Deliverer] = {}
    relay = None
    if settings.smtp_relay_url is not None:
        relay = Relay(RelayConfig.from_url(settings.smtp_relay_url.get_secret_value()))
        deliverers["email"] = MailDelivery(pool, relay, settings.email_ack_window_seconds)
    account_mail = AccountMailer(
        relay, settings.account_mail_from or f"Switchboard <no-reply@{settings.smtp_hostname}>"
    )
    passwords = PasswordService(pool, account_mail, settings.base_url, clock=clock)
    webchat_backend = WebchatBackendImpl(pool, pipeline)
    summaries = Summaries(pool, chat_model(settings), wait=settings.llm_timeout_seconds)
    console_backend = ConsoleBackendImpl(
        pool,
        pipeline,
        router,
        bus,
        passwords,
        summaries=summaries,
        interpreter=interpreter,
        human_intents=frozenset(settings.bot_human_intents),
    )
    embedder = Embedder(pool, WordLlamaEmbedder())
    bus.subscribe(embedder.notice)
    console_backend.suggester = Suggestions(
        pool,
        embedder,
        await asyncio.to_thread(bot_answers, settings.nlu_project),
        settings.bot_sentiment_trend_threshold,
        articles=ArticleSuggestions(pool, kb, settings.base_url, assistant.kb_policy(settings)),
    )
    console_backend.bot_trainer = BotTraining(pool, interpreter, training_setup(settings))
    console_backend.bot_review = BotReview(pool, interpreter, settings.bot_confidence_threshold)
    origins = settings.origins()
    webchat_hub = WebchatHub(
        webchat_backend,
        tokens,
        origins=origins,
        rate_per_second=settings.ws_rate_per_second,
        rate_burst=settings.ws_rate_burst,
        sessions_per_minute=settings.webchat_sessions_per_minute,
        on_reject=lambda code: metrics.ws_rejected.labels("webchat", str(code)).inc(),
    )
    console_hub = ConsoleHub(
        console_backend,
        agents,
        origins=settings.console_allow_list(),
        on_reject=lambda code: metrics.ws_rejected.labels("console", str(code)).inc(),
        on_presence=functools.partial(_console_presence, presence, router),
    )
    mailroom = Mailroom(pool, pipeline, bus, metrics, parser, max_waiting=settings.mail_max_waiting)
    webchat_backend.mailer = account_mail  # the widget's one-time email codes
    api_tokens = TokenService(pool, clock=clock)
    accounts = Accounts(
        sessions=agents,
        passwords=passwords,
        totp=SecondFactorService(pool, clock=clock),
        tokens=api_tokens,
    )
    telegram = telegram_bots(settings, pool, pipeline, bus, metrics)
    if telegram is not None:
        deliverers["telegram"] = telegram
    slack = None
    if settings.slack_bot_token is not None and settings.slack_signing_secret is not None:
        from server.services.slack import SlackService  # slack-bolt only when Slack is configured

        slack = SlackService(
            pool,
            pipeline,
            metrics,
            token=settings.slack_bot_token.get_secret_value(),
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            api_url=settings.slack_api_url,
            workspaces={
                team: (w.token.get_secret_value(), w.brand)
                for team, w in settings.slack_workspaces.items()
            },
        )
        deliverers["slack"] = slack
    outbox = Outbox(
        pool,
        bus,
        metrics,
        deliverers,
        retry_seconds=settings.delivery_retry_seconds,
        max_attempts=settings.delivery_max_attempts,
    )
    smtp = SmtpServer(mailroom, smtp_config(settings)) if settings.smtp_enabled else None
    await pipeline.start()
    await router.start()
    await sweeps.start()
    await mailroom.start()
    await outbox.start()
    await embedder.start()
    if telegram is not None:
        await telegram.start()
    if slack is not None:
        await slack.start()
    if smtp is not None:
        await smtp.start()
    # WordLlama's vectors: the embedder (suggestions), the knowledge base's search (the bot's
    # answers) and the bot review embed with them; the embedded NLU engine has loaded them
    # already, the others would load them at the first customer message (``serve`` starts
    # the warm-up once it listens).
    warm_up = WarmUp({"message vectors": embedding.VECTORS}, metrics)
    metrics.track_connections("webchat", lambda: webchat_hub.connection_count)
    metrics.track_connections("console", lambda: console_hub.connection_count)
    fanout.connect(bus, webchat_hub, console_hub)
    log.info(
        "services started",
        bus=bus.state()["kind"],
        database="embedded" if embedded else "external",
        nlu=interpreter.kind if interpreter else "none",
    )
    return Services(
        settings,
        metrics,
        pool,
        bus,
        pipeline,
        interpreter,
        tokens,
        agents,
        webchat_backend,
        console_backend,
        webchat_hub,
        console_hub,
        embedded,
        router,
        sweeps,
        mailroom,
        outbox,
        smtp,
        telegram,
        slack,
        accounts=accounts,
        passwords=passwords,
        api_tokens=api_tokens,
        account_mail=account_mail,
        embedder=embedder,
        summaries=summaries,
        kb=kb,
        warm_up=warm_up,
    )


async def _abandon(
    languages: asyncio.Task[None], parsers: asyncio.Task[None], parser: ParserPool
) -> None:
    """A start that failed: wait for the loading already begun (a thread cannot be cancelled),
    then stop the parser's workers."""
    parsers.cancel()
    await asyncio.gather(languages, parsers, return_exceptions=True)
    parser.close()


def telegram_bots(
    settings: Settings,
    pool: Pool,
    pipeline: Pipeline,
    bus: EventBus,
    metrics: Metrics | None = None,
) -> TelegramBots | None:
    """The default brand's bot (SWITCHBOARD_TELEGRAM_BOT_TOKEN) and the brands' others."""
    if settings.telegram_bot_token is None and not settings.telegram_bots:
        return None
    # Imported only when a bot is configured: aiogram's types take seconds to import (4 s of
    # a 9 s start before this check came first), which every start would otherwise pay.
    from channels.telegram.client import TelegramClient
    from channels.telegram.routes import WEBHOOK_PATH
    from server.services.telegram import TelegramBots, TelegramService

    configs: list[tuple[str, str | None, str | None, str | None, str]] = []
    if settings.telegram_bot_token is not None:
        secret = settings.telegram_webhook_secret
        configs.append(
            (
                settings.telegram_bot_token.get_secret_value(),
                settings.telegram_webhook_url,
                secret.get_secret_value() if secret else None,
                None,
                WEBHOOK_PATH,
            )
        )
    for bot in settings.telegram_bots:
        token = bot.token.get_secret_value()
        configs.append(
            (
                token,
                bot.webhook_url,
                bot.webhook_secret.get_secret_value() if bot.webhook_secret else None,
                bot.brand,
                f"{WEBHOOK_PATH}/{token.split(':', 1)[0]}",
            )
        )
    if not configs:
        return None
    services = [
        TelegramService(
            pool,
            pipeline,
            bus,
            TelegramClient(token, settings.telegram_api_url),
            webhook_url=url,
            webhook_secret=secret,
            brand=brand,
            path=path,
            poll_seconds=settings.telegram_poll_seconds,
            metrics=metrics,
        )
        for token, url, secret, brand, path in configs
    ]
    return TelegramBots(pool, services)


def chat_model(settings: Settings) -> ChatModel | None:
    """The chat-completions endpoint for abstractive summaries, when one is configured."""
    if settings.llm_url is None:
        return None
    key = settings.llm_api_key
    return ChatModel(
        settings.llm_url,
        settings.llm_model,
        api_key=key.get_secret_value() if key is not None else None,
        timeout=settings.llm_timeout_seconds,
    )


def smtp_config(settings: Settings) -> SmtpConfig:
    tls = None
    if settings.smtp_tls_cert is not None and settings.smtp_tls_key is not None:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(settings.smtp_tls_cert, settings.smtp_tls_key)
    credentials = None
    if settings.smtp_auth is not None:
        login, _, password = settings.smtp_auth.get_secret_value().partition(":")
        credentials = (login, password)
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        hostname=settings.smtp_hostname,
        max_message_bytes=settings.smtp_max_message_bytes,
        max_recipients=settings.smtp_max_recipients,
        max_connections_per_ip=settings.smtp_max_connections_per_ip,
        tls=tls,
        require_tls=settings.smtp_require_tls,
        credentials=credentials,
    )


async def stop(services: Services) -> None:
    """Release in reverse order; the embedded Postgres stops last."""
    if services.smtp is not None:
        with contextlib.suppress(Exception):
            await services.smtp.close()
    with contextlib.suppress(Exception):
        # Receipts being parsed finish (or stay 'received' for the next start).
        await asyncio.wait_for(services.mailroom.settled(), timeout=10)
    with contextlib.suppress(Exception):
        await services.mailroom.close()
    with contextlib.suppress(Exception):
        await services.outbox.close()
    if services.embedder is not None:
        await services.embedder.close()
    if services.warm_up is not None:
        await services.warm_up.close()
    with contextlib.suppress(Exception):
        await services.account_mail.close()
    if services.telegram is not None:
        with contextlib.suppress(Exception):
            await services.telegram.close()
    if services.slack is not None:
        with contextlib.suppress(Exception):
            await services.slack.close()
    with contextlib.suppress(Exception):
        # Messages already stored get their routing before the database goes away.
        await asyncio.wait_for(services.pipeline.settled(), timeout=10)
    with contextlib.suppress(Exception):
        await services.pipeline.close()
    with contextlib.suppress(Exception):
        await services.sweeps.close()
    with contextlib.suppress(Exception):
        await services.router.close()
    with contextlib.suppress(Exception):
        await services.router.presence.close()
    if services.summaries is not None:
        with contextlib.suppress(Exception):
            await services.summaries.close()
    if services.console_backend.bot_trainer is not None:
        with contextlib.suppress(Exception):
            await services.console_backend.bot_trainer.close()
    if services.interpreter is not None:
        with contextlib.suppress(Exception):
            await services.interpreter.close()
    with contextlib.suppress(Exception):
        await services.webchat_backend.close()
    with contextlib.suppress(Exception):
        await services.bus.close()
    with contextlib.suppress(Exception):
        await services.pool.close()
    if services.embedded is not None:
        services.embedded.stop()
    log.info("services stopped")
