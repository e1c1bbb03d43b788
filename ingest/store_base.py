"""What every store shares: the Store interface, the manifest checks and small Chroma helpers.

The two stores (ingest/store.py: generations as directories; ingest/server_store.py: generations as
collections on a Chroma server) both build on this module, and `consensus_chat.ingest.store.open_store` picks one.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import IndexCorrupt, IndexLocation, IndexNotFound

MANIFEST_FORMAT = 2  # 2: the page's level of dense support (ingest/page_level.py)
COLLECTION = "sections"
REBUILD_HINT = "Run `consensus-chat ingest --rebuild` to build it again."
PAGE = 5000
# The keys every reader relies on; a manifest without one of them is damaged, not "unexpected".
_MANIFEST_KEYS = {"generation": str, "model": dict, "chunks": int, "sections": dict}
_MODEL_KEYS = ("name", "weights_sha256")


def chroma_errors() -> tuple[type[BaseException], ...]:
    """What Chroma raises for a store it cannot read (imported late: chromadb is heavy)."""
    from chromadb.errors import ChromaError

    return (ChromaError,)


def pages(collection, include: list[str], page: int = PAGE) -> Iterator[dict]:
    """Read a Chroma collection page by page: each item is one `collection.get` result with ids."""
    offset = 0
    while True:
        got = collection.get(include=include, limit=page, offset=offset)
        if not got["ids"]:
            return
        yield got
        offset += len(got["ids"])


def check_manifest(manifest, where: str) -> dict:
    """The manifest if it has every key readers use, else IndexCorrupt naming `where`."""
    bad = not isinstance(manifest, dict) or any(
        not isinstance(manifest.get(key), kind) for key, kind in _MANIFEST_KEYS.items()
    )
    if not bad:
        bad = any(not isinstance(manifest["model"].get(key), str) for key in _MODEL_KEYS)
    if bad:
        raise IndexCorrupt(f"{where} is damaged (not a valid manifest: a key such as generation, model or "
                           f"chunks is missing). {REBUILD_HINT}")
    return manifest


def check_index_dir(index_dir: Path) -> None:
    """Refuse an index location that is a file, lies under a file, or cannot be read, with a message that says so."""
    for path in (index_dir, *index_dir.parents):
        if path.exists():
            if not path.is_dir():
                raise IndexLocation(
                    f"The index directory {index_dir} cannot be used: {path} is a file, not a directory. "
                    "Point --index-dir or CONSENSUS_CHAT_HOME at a directory."
                )
            if path == index_dir and not os.access(path, os.R_OK | os.X_OK):
                raise unreadable(index_dir, index_dir)
            return


def unreadable(path: Path, index_dir: Path) -> IndexLocation:
    """The error for an index this user may not read: a permission problem, not damage, so no rebuild advice."""
    where = "" if Path(path) == Path(index_dir) else f" ({path})"
    return IndexLocation(
        f"The index folder {index_dir} cannot be read{where}: permission denied. Give this user read and write "
        "access to it (Chroma writes even to search), or point --index-dir or CONSENSUS_CHAT_HOME at a folder it can use."
    )


def chroma_settings():
    """Chroma client settings: no telemetry, no reset."""
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


def new_generation_name() -> str:
    """A new, sortable generation name: gen-<UTC-ish time>-<random hex>."""
    return time.strftime("gen-%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class Store:
    """Common interface of the embedded and server stores."""

    def read_manifest(self) -> dict | None:
        """The current manifest, or None when nothing was ingested yet."""
        raise NotImplementedError

    def new_generation(self):
        """Create an empty collection for a new generation: (name, chroma collection)."""
        raise NotImplementedError

    def open_generation(self, name: str):
        """The chroma collection of an existing generation."""
        raise NotImplementedError

    def publish(self, manifest: dict) -> None:
        """Atomically make manifest['generation'] the current index."""
        raise NotImplementedError

    def cleanup(self, keep: set[str]) -> None:
        """Delete generations other than those in `keep`."""
        raise NotImplementedError

    def generations(self) -> list[str]:
        """The names of every generation the store holds, published or not."""
        raise NotImplementedError

    def describe(self) -> str:
        """Where this store is, for messages."""
        raise NotImplementedError

    def connection_errors(self) -> tuple[type[BaseException], ...]:
        """What a call raises when the store did not answer (a server that is down); none for local files."""
        return ()

    def generation_dir(self, name: str) -> Path | None:
        """A local directory that belongs to generation `name` (for its saved search parts), if the store has one."""
        return None

    def closer(self, collection) -> Callable[[], None]:
        """A function that releases what opening `collection` holds (files, connections); call it once
        nobody reads the collection any more. The store forgets the collection either way."""
        return _nothing

    def close(self, collection) -> None:
        """Release `collection` now (the ingest pipeline, when it is done with a generation)."""
        self.closer(collection)()

    def open_current(self):
        """(manifest, collection) of the current index; raises IndexNotFound or IndexCorrupt."""
        manifest = self.read_manifest()
        if manifest is None:
            raise IndexNotFound(
                f"No index at {self.describe()}. Run `consensus-chat ingest` first "
                "(or `consensus-chat ingest --corpus FILE` for another document)."
            )
        collection = self.open_generation(manifest["generation"])
        count = self.count(collection)
        if count != manifest["chunks"]:
            self.close(collection)
            raise IndexCorrupt(
                f"The index at {self.describe()} is incomplete: the manifest lists {manifest['chunks']} "
                f"chunks but the store holds {count}. {REBUILD_HINT}"
            )
        return manifest, collection

    def count(self, collection) -> int:
        """How many chunks a collection holds; a store that cannot say is damaged."""
        try:
            return collection.count()
        except chroma_errors() as exc:
            raise IndexCorrupt(f"The index at {self.describe()} cannot be read ({exc}). {REBUILD_HINT}") from exc

    def verify(self, manifest: dict) -> str | None:
        """Why the generation `manifest` points to is not usable as it stands, or None when it is whole.

        Ingest asks this before it reports "unchanged": the store must open, hold every chunk the
        manifest lists, and give back every chunk's text and metadata."""
        try:
            collection = self.open_generation(manifest["generation"])
        except IndexCorrupt as exc:
            return _reason(exc)
        try:
            if self.count(collection) != manifest["chunks"]:
                return f"the store does not hold the {manifest['chunks']} chunks the manifest lists"
            seen = sum(len(got["ids"]) for got in pages(collection, []))
            if seen != manifest["chunks"]:
                return f"only {seen} of {manifest['chunks']} chunks could be read back"
        except IndexCorrupt as exc:
            return _reason(exc)
        except chroma_errors() as exc:
            return f"the store cannot be read ({exc})"
        finally:
            self.close(collection)
        return None


def _nothing() -> None:
    """The closer of a store with nothing to release."""


def _reason(exc: IndexCorrupt) -> str:
    """An IndexCorrupt message without the rebuild advice, for an ingest that is rebuilding anyway."""
    return str(exc).replace(" " + REBUILD_HINT, "").rstrip(".")
