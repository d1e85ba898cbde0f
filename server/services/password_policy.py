"""What a new password must be: long, not the agent's email, and not a common password.

Following NIST SP 800-63B (section 5.1.1.2): a minimum length and a check against passwords
known to be common or leaked, no composition rules ("one digit, one symbol"), no forced
rotation. The common-password list is the one zxcvbn ships (the 30,000 most frequent
passwords of leaked sets, in ``zxcvbn.frequency_lists``); zxcvbn's estimator also catches
what a list alone misses: the list's words with digits added, l33t spellings, keyboard walks,
repeats and sequences. Nothing is fetched from the network.

Existing passwords shorter than the minimum keep working at login: the policy applies when a
password is set.
"""

from __future__ import annotations

import functools

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 1024
# zxcvbn's scores: 3 is "safely unguessable: moderate protection from an offline slow-hash
# attack" (about 10^8 guesses and more); 2 and below fall to an online attacker in days.
MIN_SCORE = 3
# zxcvbn's matching grows with the square of the length; past this the estimate reads a
# prefix (a password that long is not short of guesses anyway).
ESTIMATE_CHARS = 64


@functools.cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def problem(password: str, *, email: str, name: str = "") -> str | None:
    """Why ``password`` may not be set for this agent, as one sentence; None when it may.
    CPU-bound for a few milliseconds: call it off the event loop."""
    if len(password) < MIN_LENGTH:
        return f"password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"password must have at most {MAX_LENGTH} characters"
    lowered = password.lower()
    address = email.strip().lower()
    local = address.partition("@")[0]
    if address and (address in lowered or (len(local) >= 4 and local in lowered)):
        return "password must not contain your email address"
    if lowered in _common():
        return "password is one of the most common passwords (found in leaked password lists)"
    inputs = [address, local, *name.lower().split(), "".join(name.lower().split())]
    estimate = zxcvbn(password[:ESTIMATE_CHARS], user_inputs=[i for i in inputs if i])
    if estimate["score"] < MIN_SCORE:
        feedback = estimate["feedback"]
        why = feedback.get("warning") or " ".join(feedback.get("suggestions") or [])
        why = why.rstrip(".") or "it follows a common pattern"
        return f"password is too easy to guess: {why[0].lower()}{why[1:]}"
    return None
