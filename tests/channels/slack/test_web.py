"""The Web API client against the stand-in: neutral values out, failures as DeliveryError,
and a user cache that stays within its bound."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from channels.base import DeliveryError
from channels.slack.web import Identity, Profile, SlackWeb
from tests import slack_api
from tests.slack_api import SlackApi


@pytest.fixture
async def api() -> AsyncIterator[SlackApi]:
    async with slack_api.slack_api() as running:
        yield running


MakeWeb = Callable[..., SlackWeb]


@pytest.fixture
async def make_web(api: SlackApi) -> AsyncIterator[MakeWeb]:
    """SlackWeb clients against the stand-in, their shared session closed after the test."""
    made: list[SlackWeb] = []

    def make(**options: int) -> SlackWeb:
        web = SlackWeb(
            token=slack_api.TOKEN,
            api_url=api.base_url + "/api/",
            tokens={slack_api.OTHER_TEAM: slack_api.OTHER_TOKEN},
            **options,
        )
        made.append(web)
        return web

    yield make
    for web in made:
        await web.close()


async def test_identify_names_the_team_and_the_bot(api: SlackApi, make_web: MakeWeb) -> None:
    assert await make_web().identify() == Identity(slack_api.TEAM, "U0BOT", "B0BOT")


async def test_profiles_are_cached_and_a_refusal_is_remembered_as_empty(
    api: SlackApi, make_web: MakeWeb
) -> None:
    api.users["U0ADA"] = {
        "id": "U0ADA",
        "name": "ada",
        "profile": {"real_name": "Ada Lovelace", "email": "ada@example.com"},
    }
    web = make_web()
    for _ in range(2):
        assert await web.profile(slack_api.TEAM, "U0ADA") == Profile(
            "Ada Lovelace", "ada@example.com"
        )
        assert await web.profile(slack_api.TEAM, "U0GONE") == Profile(None, None)
    assert api.lookups == ["U0ADA", "U0GONE"]


async def test_the_user_cache_keeps_no_more_than_its_bound(
    api: SlackApi, make_web: MakeWeb
) -> None:
    """With room for two, a third writer pushes out the least recently seen, who is asked
    about again; the two most recent are still remembered."""
    for user in ("U1", "U2", "U3"):
        api.users[user] = {"id": user, "name": user.lower()}
    web = make_web(users_max=2)
    for user in ("U1", "U2", "U3", "U2", "U3", "U1"):
        assert await web.profile(slack_api.TEAM, user) == Profile(user.lower(), None)
    assert api.lookups == ["U1", "U2", "U3", "U1"]


async def test_an_unreachable_slack_is_no_profile_and_not_remembered(
    api: SlackApi, make_web: MakeWeb
) -> None:
    api.users["U0ADA"] = {"id": "U0ADA", "name": "ada"}
    web = make_web()
    api.down = True
    assert await web.profile(slack_api.TEAM, "U0ADA") is None
    api.down = False
    assert await web.profile(slack_api.TEAM, "U0ADA") == Profile("ada", None)


async def test_posting_uses_the_workspaces_token_and_maps_failures(
    api: SlackApi, make_web: MakeWeb
) -> None:
    web = make_web()
    ts = await web.post_message(slack_api.OTHER_TEAM, "C0SUPPORT", "hello", "1700000001.000001")
    assert [(p["text"], p["via"], p["ts"]) for p in api.posted] == [
        ("hello", slack_api.OTHER_TOKEN, ts)
    ]
    api.flood, api.retry_after = 1, 7
    with pytest.raises(DeliveryError) as limited:
        await web.post_message(slack_api.TEAM, "C0SUPPORT", "again", None)
    assert (limited.value.permanent, limited.value.retry_after) == (False, 7)
    api.down = True
    with pytest.raises(DeliveryError) as unreachable:
        await web.post_message(slack_api.TEAM, "C0SUPPORT", "again", None)
    assert not unreachable.value.permanent
