"""A Chroma server that stops answering while `serve` runs: one log line per outage, a notice on each answer.

The retriever keeps answering from the generation it loaded (small indexes are scored in memory); each answer
says the server is unreachable, and a search that needs the server fails with the same clear line instead of a
traceback per request. The retriever re-reads the manifest every few seconds, which is the retry.
"""

from __future__ import annotations

import logging
import threading
import time

from consensus_chat.ingest.errors import StoreUnavailable

log = logging.getLogger(__name__)


class Outage:
    """Whether the store's server answered the last time it was asked."""

    def __init__(self, address: str):
        self.address = address
        self._since: float | None = None
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        """True while the server is unreachable."""
        return self._since is not None

    def went_down(self) -> None:
        """Record a failed call; the first one of an outage is logged."""
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
        log.warning("Cannot reach the Chroma server at %s; retrying, and answering from the index loaded before.",
                    self.address)

    def came_back(self) -> None:
        """Record a call that worked; the end of an outage is logged."""
        with self._lock:
            since, self._since = self._since, None
        if since is None:
            return
        log.warning("The Chroma server at %s answers again (unreachable for %.0f s).", self.address,
                    time.monotonic() - since)

    def notice(self) -> str | None:
        """A line for each answer given during an outage."""
        if self._since is None:
            return None
        return f"Cannot reach the Chroma server at {self.address}; retrying. This answer uses the index loaded before."

    def error(self) -> StoreUnavailable:
        """The error for a search that needs the server during an outage."""
        return StoreUnavailable(f"Cannot reach the Chroma server at {self.address}; retrying. Ask again in a few "
                                "seconds.")
