"""Everyday words a process encoded on first use: shared by all its retrievers, and kept in the model's cached table.

The cached table (ingest/wordtable.py) holds the most frequent everyday words; a question's rarer ones are
encoded when first asked for (an encoder call of several milliseconds each). Without this module each
retriever (each index a process opens) encoded them again, and every new process started from the head again.
Here a process keeps one set per table, and adds what it learned to the cached table in the background (at most
every FLUSH_AFTER_S seconds) and at exit, merged under the table's lock (ingest/wordtable_write.py), so a later
process reads the words instead of encoding them. The vectors are the ones the table would hold (float16).
"""

from __future__ import annotations

import atexit
import logging
import threading
from pathlib import Path

log = logging.getLogger(__name__)

FLUSH_AFTER_S = 20.0  # a long-lived process writes what it learned at most this often (the write copies the table)

_BY_TABLE: dict[str, LearnedWords] = {}
_REGISTRY_LOCK = threading.Lock()


class LearnedWords:
    """The words one process encoded beyond a cached table's head (word -> float16 vector). Thread-safe."""

    def __init__(self, path: Path, lexicon):
        self.path = path  # the table these words join (fixed here: a later change of $CONSENSUS_CHAT_CACHE
        self._lexicon = lexicon  # must not send them to another cache)
        self._vectors: dict[str, object] = {}
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._timer: threading.Timer | None = None

    def get(self, words: list[str]) -> list:
        """Each word's vector, or None for a word not learned yet."""
        return [self._vectors.get(w) for w in words]

    def add(self, words: list[str], vectors) -> None:
        """Keep these newly encoded words (float16 rows) and have them written to the cache soon."""
        with self._lock:
            fresh = [(w, v) for w, v in zip(words, vectors) if w not in self._vectors]
            self._vectors.update(fresh)
            self._pending += [w for w, _ in fresh]
            if not self._pending or self._timer is not None:
                return
            # A daemon thread: it must never keep a finished process alive (atexit writes the rest).
            self._timer = threading.Timer(FLUSH_AFTER_S, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> int:
        """Write the pending words to the cached table now; how many were pending."""
        import numpy as np

        from .wordtable_write import keep_words

        with self._flushing:
            with self._lock:
                words, self._pending = self._pending, []
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                vectors = [self._vectors[w] for w in words]
            if words:
                # Not retried: a table that cannot take them (missing, damaged, read-only) stays as it is.
                kept = keep_words(self.path, self._lexicon, words, np.stack(vectors))
                log.debug("Added %d learned words to %s: %s", len(words), self.path, kept is not None)
            return len(words)


def learned_words(weights_sha256: str, lexicon) -> LearnedWords:
    """The process's learned words for this model's table in the current cache directory (one set each)."""
    from .wordtable import table_path

    path = table_path(weights_sha256)
    with _REGISTRY_LOCK:
        found = _BY_TABLE.get(str(path))
        if found is None:
            found = _BY_TABLE[str(path)] = LearnedWords(path, lexicon)
            if len(_BY_TABLE) == 1:
                atexit.register(flush_all)
        return found


def flush_all() -> None:
    """Write every table's pending words (at exit, and for tests)."""
    with _REGISTRY_LOCK:
        tables = list(_BY_TABLE.values())
    for table in tables:
        table.flush()
