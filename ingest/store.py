"""Where the index lives: Chroma collections plus a manifest that says what built them.

Every ingest writes a new *generation* (a fresh Chroma store) and then swaps one pointer
atomically, so a reader or a killed ingest only ever sees a complete index.
- Embedded: generations are directories `gen-*/` under the index directory, and the pointer
  is `manifest.json` (replaced with os.replace).
- Server (`chroma run`): generations are collections `consensus_chat_gen_*`, and the pointer is
  one record in the collection `consensus_chat_manifest` (a single atomic upsert); see server_store.py.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .config import Config
from .faults import checkpoint
from .errors import IndexCorrupt, IndexLocation, IndexLocked, IndexNotFound, IndexReadOnly

log = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
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
    """Refuse an index location that is a file, or lies under a file, with a message that says so."""
    for path in (index_dir, *index_dir.parents):
        if path.exists():
            if not path.is_dir():
                raise IndexLocation(
                    f"The index directory {index_dir} cannot be used: {path} is a file, not a directory. "
                    "Point --index-dir or CONSENSUS_CHAT_HOME at a directory."
                )
            return


def _settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


def _new_generation_name() -> str:
    return time.strftime("gen-%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def lock_path(index_dir: Path) -> Path:
    """The file that serialises ingests of one index."""
    return index_dir / ".ingest.lock"


@contextmanager
def ingest_lock(index_dir: Path, timeout: float | None = None):
    """Hold the index's ingest lock; a second ingest waits up to `timeout` seconds, then refuses."""
    from filelock import FileLock, Timeout

    if timeout is None:
        timeout = float(os.environ.get("CONSENSUS_CHAT_LOCK_TIMEOUT", "600"))
    check_index_dir(index_dir)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexLocation(f"The index directory {index_dir} cannot be created ({exc.strerror}). "
                            "Pass --index-dir or set CONSENSUS_CHAT_HOME to a writable directory.") from None
    lock = FileLock(str(lock_path(index_dir)))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:  # before OSError: filelock's Timeout is a TimeoutError
        raise IndexLocked(
            f"Another ingest is writing {index_dir} (lock {lock_path(index_dir)}); "
            "wait for it to finish, then run the command again."
        ) from None
    except OSError as exc:
        raise IndexReadOnly(f"Cannot write the ingest lock {lock_path(index_dir)} ({exc.strerror}). "
                            "Ingest needs a writable index directory.") from None
    try:
        yield
    finally:
        lock.release()


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

    def describe(self) -> str:
        """Where this store is, for messages."""
        raise NotImplementedError

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
            raise IndexCorrupt(f"The index at {self.describe()} cannot be read ({exc}). {REBUILD_HINT}") from None

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


class EmbeddedStore(Store):
    """Chroma PersistentClient generations in an index directory."""

    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)
        check_index_dir(self.index_dir)
        # The PersistentClient behind each open collection (by id), so it can be closed: a client
        # that is never closed keeps the generation's files open after ingest deletes them.
        self._clients: dict[int, object] = {}

    @property
    def manifest_path(self) -> Path:
        """The pointer file."""
        return self.index_dir / "manifest.json"

    def describe(self) -> str:
        """The index directory."""
        return str(self.index_dir)

    def generation_dir(self, name: str) -> Path | None:
        """The generation's directory: its Chroma files and its saved search parts, removed together."""
        return self.index_dir / name

    def read_manifest(self) -> dict | None:
        """Read manifest.json, if any."""
        check_index_dir(self.index_dir)
        try:
            raw = self.manifest_path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexCorrupt(f"{self.manifest_path} cannot be read ({exc.strerror}). {REBUILD_HINT}") from None
        try:
            manifest = json.loads(raw.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError is a ValueError too: random bytes land here
            raise IndexCorrupt(f"{self.manifest_path} is damaged (not valid JSON text). {REBUILD_HINT}") from None
        return check_manifest(manifest, str(self.manifest_path))

    def _open(self, path: Path, make):
        """Run make(client) on a new PersistentClient for `path`, remembering the client of the result."""
        import chromadb

        client = None
        try:
            client = chromadb.PersistentClient(path=str(path), settings=_settings())
            collection = make(client)
        except chroma_errors() as exc:
            if client is not None:
                client.close()
            raise IndexCorrupt(f"The index at {self.index_dir} cannot be opened: {path.name} is damaged "
                               f"({exc}). {REBUILD_HINT}") from None
        self._clients[id(collection)] = client
        return collection

    def closer(self, collection) -> Callable[[], None]:
        """The close() of the client that opened `collection`."""
        client = self._clients.pop(id(collection), None)
        return client.close if client is not None else _nothing

    def new_generation(self):
        """A fresh directory with an empty cosine-space collection."""
        name = _new_generation_name()
        path = self.index_dir / name
        path.mkdir(parents=True)
        collection = self._open(path, lambda client: client.create_collection(
            COLLECTION, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        ))
        return name, collection

    def open_generation(self, name: str):
        """Open a generation directory; a missing one means the index is broken."""
        path = self.index_dir / name
        if not (path / "chroma.sqlite3").is_file():
            raise IndexCorrupt(f"The index at {self.index_dir} points to {name}, which is missing. {REBUILD_HINT}")
        # Chroma opens its SQLite file for writing even to search (it has no read-only mode in 1.5:
        # migrations="validate" still writes), so a read-only index is refused plainly here rather
        # than reported as damage.
        if not all(os.access(p, os.W_OK) for p in (path, path / "chroma.sqlite3")):
            raise IndexReadOnly(
                f"The index at {self.index_dir} is read-only ({path.name} cannot be written). Chroma needs "
                "write access to open an index even for searching: make the directory writable, or copy it "
                "to a writable place and pass that with --index-dir."
            )
        return self._open(path, lambda client: client.get_collection(COLLECTION, embedding_function=None))

    def publish(self, manifest: dict) -> None:
        """Write manifest.json atomically (write a temp file, fsync, rename)."""
        tmp = self.manifest_path.with_suffix(f".tmp-{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(manifest, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        checkpoint("manifest-temp-written")
        os.replace(tmp, self.manifest_path)
        dir_fd = os.open(self.index_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def cleanup(self, keep: set[str]) -> None:
        """Remove old or half-written generation directories and temp manifests."""
        for path in self.index_dir.glob("gen-*"):
            if path.is_dir() and path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
        for path in self.index_dir.glob("manifest.tmp-*"):
            path.unlink(missing_ok=True)


def open_store(config: Config) -> Store:
    """The store a Config names: a Chroma server if a host is set, else the embedded directory."""
    if config.chroma_host:
        from .server_store import ServerStore

        return ServerStore(config.chroma_host, config.chroma_port or 8000)
    return EmbeddedStore(config.index_dir)
