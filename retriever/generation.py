"""Open the current generation without Chroma when its saved parts can answer alone.

Chroma is the store of record: ingest always writes it, and large indexes and the Chroma-server store
are searched through it. A small embedded index whose saved parts hold the chunk vectors
(ingest/saved_parts.py) is scored in memory (retriever/dense.py), so opening Chroma, and importing
chromadb (about 1.4 s of a cold `ask`), buys a search nothing. Such a generation gets a `LazyCollection`,
which opens the real collection only if something asks for it.

The shortcut still checks the store of record, cheaply and without chromadb: Chroma's SQLite file must
exist and hold the number of records the manifest lists (read with the standard library, read-only).
Anything else (a missing, damaged or short store, a schema this check does not know) takes Chroma's own
path, which reports the problem as before.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from collections.abc import Callable
from pathlib import Path

from consensus_chat.ingest.saved_parts import IN_MEMORY_MAX_CHUNKS

_SQLITE = "chroma.sqlite3"


class LazyCollection:
    """A generation's Chroma collection, opened on first use (attribute access); `close` releases it if it was."""

    def __init__(self, store, name: str):
        self._store, self._name = store, name
        self._lock = threading.Lock()
        self._real = None
        self._closed = False

    @property
    def opened(self) -> bool:
        """Whether the real collection was opened (chromadb imported)."""
        return self._real is not None

    def _open(self):
        with self._lock:
            if self._real is None:
                self._real = self._store.open_generation(self._name)
            return self._real

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._open(), name)

    def close(self) -> None:
        """Release the real collection, if it was opened."""
        with self._lock:
            real, self._real = self._real, None
        if real is not None:
            self._store.close(real)


def open_current(store, max_in_memory: int = IN_MEMORY_MAX_CHUNKS):
    """(manifest, collection) of the current generation: a LazyCollection when the shortcut applies,
    else the store's own `open_current` (which raises IndexNotFound or IndexCorrupt)."""
    if getattr(store, "manifest_path", None) is None:
        return store.open_current()  # a Chroma server: no local files, and its manifest is a Chroma record
    manifest = store.read_manifest()
    if manifest is not None and manifest["chunks"] <= max_in_memory:
        gen_dir = store.generation_dir(manifest["generation"])
        if gen_dir is not None and stored_records(gen_dir) == manifest["chunks"]:
            return manifest, LazyCollection(store, manifest["generation"])
    return store.open_current()


def closer(store, collection) -> Callable[[], None]:
    """What releases `collection` once nobody reads it (see Store.closer)."""
    if isinstance(collection, LazyCollection):
        return collection.close
    return store.closer(collection)


def stored_records(gen_dir: Path) -> int | None:
    """How many records the generation's Chroma SQLite file holds, or None when it cannot be read this way."""
    path = Path(gen_dir) / _SQLITE
    if not path.is_file():
        return None
    try:
        # mode=ro: a search never writes the store of record; Chroma's own open would.
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
    except (sqlite3.Error, OSError, TypeError, ValueError):
        return None
