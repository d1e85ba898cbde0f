"""Failed console logins, counted per email and per client address in a sliding window.

Past an email's limit that account is locked for the window: a login is refused with 429 and
Retry-After before the password is checked, so guessing one agent's password costs an
attacker time. Past an address's limit (many emails tried from one place: a spray) the
address is slowed, not locked: one attempt every ``address_delay`` seconds. A hard lock by
address would lock out every agent behind the same office NAT as the attacker. Counts live in
this process: with several nodes behind a proxy each node counts its own share.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from cachetools import TTLCache

# Keys (emails and addresses) remembered at once: a spray of made-up emails or addresses
# evicts the oldest, never grows the process. 100,000 deques of up to 50 floats is ~50 MB at
# worst.
MAX_KEYS = 100_000


class LoginThrottle:
    """How many failures each key may have within ``window`` seconds."""

    def __init__(
        self,
        *,
        per_email: int = 10,
        per_address: int = 50,
        window: float = 900.0,
        address_delay: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self._limits = {"email": per_email, "address": per_address}
        self._window = window
        self._address_delay = address_delay
        self._clock = clock
        # An entry lives a window after its last failure (it is set again on each), when all
        # its times have aged out anyway.
        self._failures: TTLCache[tuple[str, str], deque[float]] = TTLCache(
            maxsize=max_keys, ttl=window, timer=clock
        )

    def _keys(self, email: str, address: str) -> list[tuple[str, str]]:
        return [("email", email.strip().lower()), ("address", address)]

    def retry_after(self, email: str, address: str) -> int | None:
        """Seconds to wait before trying again, or None when a login may be tried now."""
        now = self._clock()
        wait = 0.0
        for key in self._keys(email, address):
            times = self._failures.get(key)
            if not times:
                continue
            while times and times[0] <= now - self._window:
                times.popleft()
            if len(times) >= self._limits[key[0]]:
                if key[0] == "email":
                    wait = max(wait, times[0] + self._window - now)
                else:
                    wait = max(wait, times[-1] + self._address_delay - now)
            if not times:
                self._failures.pop(key, None)
        return int(wait) + 1 if wait > 0 else None

    def failed(self, email: str, address: str) -> None:
        now = self._clock()
        for key in self._keys(email, address):
            times = self._failures.get(key) or deque(maxlen=self._limits[key[0]])
            times.append(now)
            self._failures[key] = times

    def succeeded(self, email: str) -> None:
        self._failures.pop(("email", email.strip().lower()), None)
