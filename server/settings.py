"""The one typed settings object, read once from ``SWITCHBOARD_*`` variables and ``.env``.

Nothing else in the code base reads the environment. Secrets are ``SecretStr`` so that printing
or logging the settings never shows them.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

import nlu
from channels.email.relay import RelayConfig
from routing.hours import parse_hours
from routing.priority import Weights

# The Rasa project shipped with Switchboard (the demo shop's assistant).
DEFAULT_NLU_PROJECT = Path(nlu.__file__).parent / "rasa_project"


class TelegramBot(BaseModel):
    """One more Telegram bot, for a brand (SWITCHBOARD_TELEGRAM_BOTS, a JSON list)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)
    token: SecretStr
    brand: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

    @field_validator("webhook_secret")
    @classmethod
    def _valid_secret(cls, value: SecretStr | None) -> SecretStr | None:
        return _telegram_secret(value)


def _telegram_secret(value: SecretStr | None) -> SecretStr | None:
    # Telegram's rule for secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
    if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
        raise ValueError("a Telegram webhook secret is 1-256 of A-Z a-z 0-9 _ -")
    return value


class SlackWorkspace(BaseModel):
    """One more Slack workspace the app is installed in (SWITCHBOARD_SLACK_WORKSPACES, a JSON
    object by team id)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)
    token: SecretStr
    brand: str | None = None


class Settings(BaseSettings):
    """Everything an operator can configure; see README's configuration table."""

    # hide_input_in_errors: a malformed value may be a secret (a token with a typo); the
    # error names the variable and the rule, never the value.
    model_config = SettingsConfigDict(
        env_prefix="SWITCHBOARD_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # A port of its own for /readyz, /healthz and /metrics (server/http/health.py), on
    # ``host``: the proxy's checks there do not wait in the main port's listen queue behind a
    # reconnect storm's connections. Unset: none (the main port answers them too). 0: free.
    health_port: int | None = Field(default=None, ge=0, le=65535)
    # Proxies whose X-Forwarded-For is believed (the client address feeds the login
    # throttle): "*" when only the proxy can reach the server, as in docker-compose.yml.
    forwarded_allow_ips: str = "127.0.0.1"
    # Public base URL printed by `serve` and used for the default Origin allow-list.
    public_url: str | None = None

    # Unset: an embedded PostgreSQL (pgserver) is started with its data under data_dir.
    database_url: SecretStr | None = None
    data_dir: Path = Path("var")
    db_pool_min: int = Field(default=2, ge=1)
    # Small pools serve best on small machines (bench: 6 beat 20 on 2 cores).
    db_pool_max: int = Field(default=10, ge=1)

    # Unset: the in-process bus (one node). Set: Redis pub/sub fan-out across nodes.
    redis_url: SecretStr | None = None

    # Signs visitor tokens and console sessions. Unset: generated once and kept in data_dir,
    # so tokens survive restarts; with several nodes every node must share the same value.
    secret_key: SecretStr | None = None
    visitor_token_ttl: int = Field(default=7 * 24 * 3600, ge=60)
    # A console session ends this long after its login (the absolute timeout) ...
    console_session_ttl: int = Field(default=12 * 3600, ge=60)
    # ... or this long after its last request or socket ping (the idle timeout).
    console_idle_seconds: int = Field(default=2 * 3600, ge=60)
    # The From of invite and password-reset mails (sent through smtp_relay_url). Unset:
    # "Switchboard <no-reply@smtp_hostname>".
    account_mail_from: str | None = None
    # Origins allowed to open the widget's WebSocket; empty means the server's own origin.
    allowed_origins: list[str] = []
    # Origins the console is also served from (another name behind a proxy). The console
    # always accepts its own; the widget's embedding sites above never drive it.
    console_origins: list[str] = []

    ws_max_frame_bytes: int = Field(default=64 * 1024, ge=1024)
    ws_compression: bool = False
    ws_heartbeat_seconds: float = Field(default=20.0, gt=0)
    # The listen queue: connections the kernel holds for a node until its event loop accepts
    # them; one that arrives with the queue full is dropped and its sender (the proxy) tries
    # again only after 1 s, then 3 s. uvicorn's 2048 overflowed in a reconnect storm (20,000
    # widget sockets over three nodes: each node's queue full for 4 s, 23,000 connections
    # dropped; issue 21). The kernel caps it at net.core.somaxconn (4096 since Linux 5.4):
    # raise that too to use more (docs/operations.md).
    listen_backlog: int = Field(default=16384, ge=1)
    # On SIGTERM a node answers /readyz 503 this long before it stops serving, so the proxy
    # marks it down first (HAProxy's checks: 2 failures 1 s apart); server/http/shutdown.py.
    drain_seconds: float = Field(default=3.0, ge=0, le=300)
    # Per-connection message rate: a burst of `ws_rate_burst` then `ws_rate_per_second`.
    ws_rate_per_second: float = Field(default=5.0, gt=0)
    # New web chat visitors (each a contact row) a minute from one client address.
    webchat_sessions_per_minute: int = Field(default=30, ge=1)
    # Back-pressure on the event loop's own lateness (server/pipeline/pressure.py): past this
    # many milliseconds, smoothed, new messages are refused and their senders retry. 0: off.
    overload_lag_ms: int = Field(default=100, ge=0, le=60_000)
    ws_rate_burst: int = Field(default=20, ge=1)

    # What a customer is told, in English, when a human takes over (French has its own).
    auto_ack_text: str = (
        "Thanks for your message! We have received it and a member of our team will reply "
        "here shortly."
    )

    # NLU: "auto" is Rasa when rasa_url is set, else the embedded engine; "none" turns the
    # bot off (every conversation goes to a human).
    nlu_engine: Literal["auto", "embedded", "rasa", "none"] = "auto"
    nlu_project: Path = DEFAULT_NLU_PROJECT
    # Trained embedded models, keyed by the project's fingerprint. Unset: data_dir/nlu.
    nlu_cache_dir: Path | None = None
    rasa_url: str | None = None
    rasa_token: SecretStr | None = None
    # A `rasa` executable on this machine (a Rasa 3 virtualenv's bin/rasa): the console's
    # "Validate" also runs Rasa's own `rasa data validate` on the project's files.
    rasa_command: Path | None = None
    # The embedded engine runs the project's custom actions (and a form's validate_<form>) on
    # this rasa-sdk action server (its /webhook URL), as Rasa would; unset: a conversation
    # that reaches one goes to a person.
    action_server_url: str | None = None
    # A Duckling server for the project's DucklingEntityExtractor; unset: no Duckling
    # entities (named at training and in /readyz).
    duckling_url: str | None = None
    # The bearer token Rasa's custom actions use for /api/bot/*; unset disables that API.
    bot_api_token: SecretStr | None = None
    bot_confidence_threshold: float = Field(default=0.45, ge=0, le=1)
    bot_max_fallbacks: int = Field(default=2, ge=1)
    bot_sentiment_threshold: float = Field(default=-0.6, ge=-1, le=1)
    bot_sentiment_trend_threshold: float = Field(default=-0.35, ge=-1, le=1)
    # Intents that always go to a person; each must be one the bot's project defines.
    bot_human_intents: list[str] = [
        "complaint",
        "negotiation",
        "legal",
        "data_rights",
        "security_incident",
        "safety",
    ]
    bot_vip_to_human: bool = True
    # When humans answer, e.g. "mon-fri 09:00-18:00 Europe/Paris"; unset means always.
    business_hours: str | None = None

    # The bot's knowledge-base step (docs/knowledge-base.md, routing/knowledge.py): when no
    # intent covers a message (out of scope, not understood) or an FAQ-like intent is below
    # the confidence threshold, answer with the brand's published articles in the customer's
    # language. The similarity thresholds were measured on the labelled set.
    kb_enabled: bool = True
    kb_faq_intents: list[str] = []
    kb_confidence_threshold: float = Field(default=0.45, ge=0, le=1)
    # The best article's cosine similarity needed to answer, per language, e.g.
    # SWITCHBOARD_KB_MIN_SIMILARITY='{"en": 0.3, "fr": 0.5}'; other languages: the default.
    kb_min_similarity: dict[str, float] = {"en": 0.30, "fr": 0.50}
    kb_default_similarity: float = Field(default=0.50, ge=-1, le=1)
    kb_max_articles: int = Field(default=3, ge=1, le=3)
    # A conversation still with the bot and quiet this long has ended: the articles the bot
    # showed in it, with no handoff after them, resolved it (kb_article_outcomes no_handoff).
    kb_settle_hours: float = Field(default=24.0, gt=0)

    # Handoff summaries and reply drafts by a chat model (docs/handoff-summary.md): the base
    # URL of any OpenAI-compatible chat-completions endpoint, e.g. http://127.0.0.1:11434/v1
    # (Ollama) or http://127.0.0.1:8001/v1 (vLLM). Unset: extractive summaries only, and no
    # conversation text leaves the server.
    llm_url: str | None = None
    llm_model: str = "llama3.2"
    llm_api_key: SecretStr | None = None
    # The whole call's deadline; the console never waits on the model longer than this (it
    # shows the extractive summary meanwhile, and keeps it when the model fails).
    llm_timeout_seconds: float = Field(default=8.0, gt=0, le=120)

    # Routing. Priority weights override routing.priority.Weights field by field, e.g.
    # SWITCHBOARD_PRIORITY_WEIGHTS='{"vip": 60, "per_minute_waiting": 2}'.
    priority_weights: dict[str, Any] = {}
    # An agent whose consoles are all gone this long is marked away (and their unanswered
    # conversations go back to the queue, per team).
    presence_grace_seconds: float = Field(default=60.0, gt=0)
    # How often nodes tell each other (through Redis) which agents they hold.
    presence_heartbeat_seconds: float = Field(default=10.0, gt=0)
    # How often the SLA and presence sweeps run (on the one node holding their lease).
    sweep_seconds: float = Field(default=10.0, gt=0)
    # A full assignment pass runs at least this often (aging; agents freed elsewhere).
    assign_interval_seconds: float = Field(default=5.0, gt=0)
    # The bootstrap bearer token of the admin REST API (/api/admin/*), for first set-up:
    # generated under data_dir when unset. Once an admin agent exists it is refused, and
    # admins use personal API tokens (docs/accounts.md), unless admin_token_always is true.
    # Unset, admin_token_always is off, but on for `serve --demo` (the demo makes an admin).
    admin_token: SecretStr | None = None
    admin_token_always: bool | None = None

    # Email. Inbound SMTP listens here (port 0: any free port; smtp_enabled false: no
    # listener). The limits are what the server answers 552/452/421 past.
    smtp_enabled: bool = True
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=0, le=65535)
    smtp_hostname: str = "switchboard.local"
    smtp_max_message_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    smtp_max_recipients: int = Field(default=100, ge=1)
    smtp_max_connections_per_ip: int = Field(default=20, ge=1)
    # STARTTLS is offered when both are set; AUTH (over TLS) is required when smtp_auth is
    # set, as "login:password".
    smtp_tls_cert: Path | None = None
    smtp_tls_key: Path | None = None
    smtp_require_tls: bool = False
    smtp_auth: SecretStr | None = None
    # Mail is parsed in worker processes, each message within this budget.
    mail_parse_workers: int = Field(default=2, ge=1)
    mail_parse_seconds: float = Field(default=5.0, gt=0)
    # Mails accepted (250) and not yet processed, past which DATA is answered 451.
    mail_max_waiting: int = Field(default=100_000, ge=1)
    # Where replies go out: smtp://user:pass@host:587 (STARTTLS when offered;
    # ?starttls=required to insist) or smtps://host:465. Unset: replies wait in the outbox.
    smtp_relay_url: SecretStr | None = None
    # An acknowledgement goes to a sender at most once per conversation in this window.
    email_ack_window_seconds: float = Field(default=24 * 3600.0, ge=0)
    # Temporary delivery failures are retried after retry_seconds, doubling each time, up to
    # delivery_max_attempts in all; then the message is marked failed.
    delivery_retry_seconds: float = Field(default=30.0, gt=0)
    delivery_max_attempts: int = Field(default=8, ge=1)

    # Telegram (the default brand's bot). Unset token: no Telegram. With a webhook URL (the
    # public address of /channels/telegram/webhook) Telegram posts updates, carrying the
    # secret; without one the server long-polls.
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    # Long polling: how long one getUpdates waits for news. One node polls each bot at a time
    # (a lease in Postgres); another takes over within about twice this after it stops.
    telegram_poll_seconds: int = Field(default=25, ge=1, le=50)
    # More bots, each for a brand, e.g. '[{"token": "...", "brand": "acme",
    # "webhook_url": "https://.../channels/telegram/webhook/<bot id>", "webhook_secret": "..."}]'
    # (the bot id is the token's part before the colon).
    telegram_bots: list[TelegramBot] = []
    # Slack (the default brand's app, Events API over HTTP at /channels/slack/events).
    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # More workspaces of the same app, each for a brand: '{"T0123": {"token": "xoxb-...",
    # "brand": "acme"}}'; events from other teams use slack_bot_token.
    slack_workspaces: dict[str, SlackWorkspace] = {}

    log_level: str = "INFO"
    log_json: bool = False

    @field_validator("business_hours")
    @classmethod
    def _valid_hours(cls, value: str | None) -> str | None:
        if value:
            parse_hours(value)
        return value or None

    @field_validator("priority_weights")
    @classmethod
    def _valid_weights(cls, value: dict[str, Any]) -> dict[str, Any]:
        weights(value)
        return value

    @field_validator("smtp_relay_url")
    @classmethod
    def _valid_relay(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            RelayConfig.from_url(value.get_secret_value())
        return value

    @field_validator("smtp_auth")
    @classmethod
    def _valid_smtp_auth(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and ":" not in value.get_secret_value():
            raise ValueError("smtp_auth must be login:password")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _valid_telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        return _telegram_secret(value)

    @model_validator(mode="after")
    def _slack_pair(self) -> Settings:
        if (self.slack_signing_secret is None) != (self.slack_bot_token is None):
            raise ValueError("slack_signing_secret and slack_bot_token go together")
        return self

    @model_validator(mode="after")
    def _health_port_of_its_own(self) -> Settings:
        # 0 asks the system for a free port, so two zeros never meet.
        if self.health_port and self.health_port == self.port:
            raise ValueError("health_port must differ from port (the checks' own listener)")
        return self

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.smtp_tls_cert is None) != (self.smtp_tls_key is None):
            raise ValueError("smtp_tls_cert and smtp_tls_key go together")
        return self

    @model_validator(mode="after")
    def _grace_outlasts_heartbeat(self) -> Settings:
        if (
            self.redis_url is not None
            and self.presence_grace_seconds <= 2 * self.presence_heartbeat_seconds
        ):
            raise ValueError("presence_grace_seconds must exceed twice presence_heartbeat_seconds")
        return self

    def weights(self) -> Weights:
        return weights(self.priority_weights)

    @property
    def nlu_kind(self) -> str:
        if self.nlu_engine == "auto":
            return "rasa" if self.rasa_url else "embedded"
        return self.nlu_engine

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    def origins(self) -> frozenset[str]:
        """The widget's Origin allow-list (the server's own origins when none is configured)."""
        if self.allowed_origins:
            return frozenset(o.rstrip("/") for o in self.allowed_origins)
        own = {self.base_url, f"http://localhost:{self.port}", f"http://127.0.0.1:{self.port}"}
        return frozenset(own)

    def console_allow_list(self) -> frozenset[str]:
        """The console's Origin allow-list (its writes and its WebSocket): the server's own
        origins and ``console_origins``, never the widget's embedding sites."""
        own = {self.base_url, f"http://localhost:{self.port}", f"http://127.0.0.1:{self.port}"}
        return frozenset(own | {o.rstrip("/") for o in self.console_origins})

    def signing_key(self) -> str:
        """The secret key, created under data_dir on first use when not configured."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return self._generated("secret_key")

    def admin_api_token(self) -> str:
        """The admin API's bearer token, created under data_dir when not configured."""
        if self.admin_token is not None:
            return self.admin_token.get_secret_value()
        return self._generated("admin_token")

    def _generated(self, name: str) -> str:
        path = self.data_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def weights(overrides: dict[str, Any]) -> Weights:
    """The default weights with the operator's overrides; unknown names are an error."""
    known = {f.name for f in fields(Weights)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown priority weights {unknown}; known: {sorted(known)}")
    return replace(Weights(), **overrides)
