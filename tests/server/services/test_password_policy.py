"""The password policy: long enough, not the email, not a common or easily guessed password;
each refusal says which rule it breaks."""

from __future__ import annotations

import pytest

from server.services.password_policy import problem

EMAIL = "kim.lee@shop.example"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-one", "password must have at least 12 characters"),
        ("x" * 1025, "password must have at most 1024 characters"),
        ("kim.lee@shop.example", "password must not contain your email address"),
        ("my-kim.lee-password", "password must not contain your email address"),
        ("password1234", "password is one of the most common passwords"),
        ("qwertyuiopasdf", "password is too easy to guess"),
        ("aaaaaaaaaaaaaaa", "password is too easy to guess"),
        ("Password1234!", "password is too easy to guess"),
    ],
)
def test_a_password_that_breaks_a_rule_is_refused_with_the_rule(password: str, reason: str) -> None:
    found = problem(password, email=EMAIL, name="Kim Lee")
    assert found is not None
    assert found.startswith(reason), found


@pytest.mark.parametrize(
    "password",
    ["correct-horse-battery", "tangerine ladder oboe", "switchboard-demo", "9fT#x2!qLm0z"],
)
def test_a_long_uncommon_password_is_accepted(password: str) -> None:
    assert problem(password, email=EMAIL, name="Kim Lee") is None


def test_the_name_counts_as_something_easy_to_guess() -> None:
    assert problem("kimberlylee2024", email="k@x.test", name="Kimberly Lee") is not None
