"""The admin API's request bodies: each validates a request and, through
``model_json_schema()``, describes it in /openapi.json."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from channels.base import NUL_REFUSED, holds_nul
from server.store import organisation as org


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if holds_nul(data):
            raise ValueError(NUL_REFUSED)
        return data


class BrandBody(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    business_hours: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=2)
    clear_business_hours: bool = False
    # Days to keep, or null to keep forever; left out: unchanged (docs/privacy.md).
    retention_days: int | None = Field(default=None, ge=1, le=36_500)
    events_retention_days: int | None = Field(default=None, ge=1, le=36_500)
    files_retention_days: int | None = Field(default=None, ge=1, le=36_500)
    # What happens to conversations past retention_days: anonymised (the default) or deleted.
    retention_action: Literal["anonymise", "delete"] | None = None


class EraseBody(_Body):
    confirm: bool = False


class TeamBody(_Body):
    brand: str | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    assignment: Literal["auto", "manual"] | None = None
    requeue_unanswered: bool | None = None
    default: bool | None = None


class SkillBody(_Body):
    description: str = Field(default="", max_length=500)


Role = Literal["admin", "supervisor", "agent", "analyst", "designer", "editor"]


class AgentBody(_Body):
    capacity: int | None = Field(default=None, ge=0, le=org.MAX_CAPACITY)
    skills: list[str] | None = None
    teams: list[str] | None = None
    # The brand the teams and roles are in (the only brand when there is one).
    brand: str | None = None
    # One role ("admin": every brand), or the whole set held in the brand.
    role: Role | None = None
    roles: list[Role] | None = None
    status: Literal["online", "away", "offline"] | None = None


class NewAgentBody(AgentBody):
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    # Checked by the password policy (docs/accounts.md). Left out: the agent sets their own
    # from an invite link (``invite``, or POST /api/admin/agents/{agent}/invite).
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    invite: bool = False


class SlaBody(_Body):
    brand: str | None = None
    first_response_seconds: int = Field(gt=0)
    resolution_seconds: int = Field(gt=0)
    escalation_points: int = Field(default=0, ge=0)
    notify_team: str | None = None


class IntentRouteBody(_Body):
    brand: str | None = None
    skills: list[str] = []
    team: str | None = None


class InboxTeamBody(_Body):
    team: str | None


class InboxBody(_Body):
    brand: str | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    team: str | None = None


class ContactBody(_Body):
    tier: str | None = Field(default=None, max_length=40)
    value: float | None = Field(default=None, ge=0)


class IdentitySecretBody(_Body):
    # Omitted: a new random secret, shown in the answer this once.
    secret: str | None = Field(default=None, min_length=32, max_length=200)
