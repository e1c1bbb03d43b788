"""One sliding-window limit per client address, shared by logins (app/login.py) and votes (app/feedback.py)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque


class RetryLater(Exception):
    """A refusal that says when to try again: `retry_after` seconds (a Retry-After header's value)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class SlidingWindowLimiter:
    """At most `limit` events per client in a sliding window of `window` seconds; thread-safe.

    `what` names the events in the refusal ("login attempts", "votes") and `error(message, retry_after)` is raised.
    At most `max_clients` clients are remembered; the longest idle is forgotten first.
    """

    def __init__(self, limit: int, window: float, *, what: str, error: type[Exception], max_clients: int = 10_000):
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self.what, self.error = what, error
        self._times: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def count(self, client: str) -> None:
        """Count one event by `client`, or raise `error` saying when to try again."""
        now = time.monotonic()
        with self._lock:
            times = self._times.pop(client, None) or deque()
            while times and times[0] <= now - self.window:
                times.popleft()
            self._times[client] = times  # most recently seen last, so the longest idle is evicted first
            while len(self._times) > self.max_clients:
                self._times.popitem(last=False)
            if len(times) >= self.limit:
                retry = max(1, math.ceil(times[0] + self.window - now))
                raise self.error(f"Too many {self.what} from {client}: at most {self.limit} in {int(self.window)} "
                                 f"seconds. Try again in {retry} seconds.", retry)
            times.append(now)

    def forget(self, client: str) -> None:
        """Clear `client`'s events (a successful login)."""
        with self._lock:
            self._times.pop(client, None)
