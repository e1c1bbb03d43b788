"""Hot reload: keep the index's current generation loaded, swap a newer one in whole, and close replaced ones."""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
import weakref

from consensus_chat.ingest.errors import ConsensusChatError, StoreUnavailable

from .generation import closer, open_current
from .loading import Generation, Loader
from .outage import Outage

log = logging.getLogger(__name__)
_SERVER_RECHECK_SECONDS = 5.0


class Generations:
    """The generation a retriever answers from; `current()` switches to a newer one when an ingest published it."""

    def __init__(self, loader: Loader, outage: Outage):
        self.store = loader.store
        self._loader = loader
        self._outage = outage
        self._lock = threading.Lock()
        self._last_check = 0.0
        # Set when a replaced generation was closed; the next request collects what Chroma left in
        # reference cycles, so the old generation's files are really closed (see _load).
        self._released = threading.Event()
        self._last_warning: str | None = None
        self.loaded: Generation | None = None
        # An embedded store's pointer file, as a string once: every request stats it (a Chroma server has none).
        path = getattr(self.store, "manifest_path", None)
        self._manifest_path = None if path is None else os.fspath(path)

    def open(self, spec_hash: str, model_name: str) -> None:
        """Load the current generation for the first time."""
        self.loaded = self._load(spec_hash, model_name)

    def _stamp(self, loaded: bool = True):
        """What changes when an ingest publishes: the manifest's mtime, or the server's generation name."""
        path = self._manifest_path
        if path is not None:
            try:
                return os.stat(path).st_mtime_ns
            except FileNotFoundError:
                if loaded:  # before the first load there is nothing to answer from: open_current says what to do
                    self._warn(f"{path} has gone; still answering from the loaded index.")
                return None
        manifest = self.store.read_manifest()
        return manifest and manifest.get("generation")

    def _load(self, spec_hash: str, model_name: str) -> Generation:
        stamp = self._stamp(loaded=self.loaded is not None)
        # Without Chroma when the saved parts can answer alone (retriever/generation.py).
        manifest, collection = open_current(self.store)
        close = closer(self.store, collection)
        try:
            generation = self._loader.build(manifest, collection, stamp, spec_hash, model_name)
        except BaseException:
            close()
            raise
        # Close the generation's Chroma client once no request holds it any more: the swap in current()
        # only drops this holder's reference, and a search still running on the old generation keeps it
        # (its local variable) until it returns.
        finalizer = weakref.finalize(generation, _release, close, self._released)
        finalizer.atexit = False  # at exit the process closes its files anyway, and Chroma may be half torn down
        return generation

    def current(self) -> Generation:
        """The loaded generation, reloaded first if another ingest swapped in a new one."""
        generation = self.loaded
        now = time.monotonic()
        if self._manifest_path is None and now - self._last_check < _SERVER_RECHECK_SECONDS:
            return generation
        self._last_check = now
        if self._released.is_set():
            self._released.clear()
            gc.collect()  # Chroma's client leaves cycles; collecting them closes the old files
        try:
            stamp = self._stamp()
        except StoreUnavailable:
            self._outage.went_down()  # logged once per outage; each answer carries the notice
            return generation
        except (OSError, ConsensusChatError) as exc:
            self._warn(f"Cannot check the index for a newer generation ({exc}); still answering from the loaded one.")
            return generation
        self._outage.came_back()
        if stamp == generation.stamp or stamp is None:
            return generation
        with self._lock:
            if self.loaded.stamp != stamp:
                embedder = self._loader.embedder
                try:
                    self.loaded = self._load(embedder.spec.weights_sha256, embedder.name)
                except (ConsensusChatError, OSError) as exc:
                    # A swap is atomic, so this is a damaged or foreign new index: keep serving the old one.
                    self._warn(f"Not switching to the new index ({exc}); still answering from the loaded one.")
                    return generation
            return self.loaded

    def _warn(self, message: str) -> None:
        """Log a skipped reload once, not on every request that meets the same problem."""
        if message != self._last_warning:
            self._last_warning = message
            log.warning(message)


def _release(close, released: threading.Event) -> None:
    """Close a replaced generation's store client and ask the next request to collect the leftovers."""
    try:
        close()
    except Exception as exc:  # noqa: BLE001 - runs from a finalizer, where an exception is only printed
        log.warning("Closing a replaced index generation failed: %s", exc)
    released.set()
