"""Where the index lives: Chroma collections plus a manifest that says what built them.

Every ingest writes a new *generation* (a fresh Chroma store) and then swaps one pointer
atomically, so a reader or a killed ingest only ever sees a complete index.
- Embedded (this module): generations are directories `gen-*/` under the index directory, and the
  pointer is `manifest.json` (replaced with os.replace).
- Server (`chroma run`): generations are collections `consensus_chat_gen_*`, and the pointer is
  one record in the collection `consensus_chat_manifest` (a single atomic upsert); see server_store.py.
The interface both implement, and the manifest checks, are in store_base.py.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from .bigjson import loads
from .config import Config
from .errors import IndexCorrupt, IndexLocation, IndexLocked, IndexReadOnly
from .server_store import ServerStore
from .store_base import (  # noqa: F401 - MANIFEST_FORMAT, pages and chroma_errors are re-exported for callers
    COLLECTION, MANIFEST_FORMAT, REBUILD_HINT, Store, _nothing, check_index_dir, check_manifest, chroma_errors,
    chroma_settings, new_generation_name, pages, unreadable,
)

log = logging.getLogger(__name__)


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
                            "Pass --index-dir or set CONSENSUS_CHAT_HOME to a writable directory.") from exc
    lock = FileLock(str(lock_path(index_dir)))
    try:
        lock.acquire(timeout=timeout)
    except Timeout as err:  # before OSError: filelock's Timeout is a TimeoutError
        raise IndexLocked(
            f"Another ingest is writing {index_dir} (lock {lock_path(index_dir)}); "
            "wait for it to finish, then run the command again."
        ) from err
    except OSError as exc:
        raise IndexReadOnly(f"Cannot write the ingest lock {lock_path(index_dir)} ({exc.strerror}). "
                            "Ingest needs a writable index directory.") from exc
    try:
        yield
    finally:
        lock.release()


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
        except PermissionError as err:
            raise unreadable(self.manifest_path, self.index_dir) from err
        except OSError as exc:
            raise IndexCorrupt(f"{self.manifest_path} cannot be read ({exc.strerror}). {REBUILD_HINT}") from exc
        try:
            manifest = loads(raw)  # 14 MB at 100,000 sections (ingest/bigjson.py)
        except ValueError as err:  # UnicodeDecodeError is a ValueError too: random bytes land here
            raise IndexCorrupt(f"{self.manifest_path} is damaged (not valid JSON text). {REBUILD_HINT}") from err
        manifest = check_manifest(manifest, str(self.manifest_path))
        self._check_inside(manifest["generation"])
        return manifest

    def _check_inside(self, name: str) -> None:
        """Refuse a generation that is not a gen-* folder right inside the index directory.

        The manifest is data on disk: "../victim/gen-…" or a gen-* symlink to elsewhere would make search
        open, and ingest overwrite, another index's files."""
        path = self.index_dir / name
        inside = (
            name.startswith("gen-") and "/" not in name and "\\" not in name and Path(name).name == name
            and path.resolve().parent == self.index_dir.resolve()
        )
        if not inside:
            raise IndexCorrupt(f"{self.manifest_path} is damaged (its generation {name!r} is not a gen-* folder "
                               f"inside {self.index_dir}). {REBUILD_HINT}")

    def _open(self, path: Path, make):
        """Run make(client) on a new PersistentClient for `path`, remembering the client of the result."""
        import chromadb

        client = None
        try:
            client = chromadb.PersistentClient(path=str(path), settings=chroma_settings())
            collection = make(client)
        except chroma_errors() as exc:
            if client is not None:
                client.close()
            raise IndexCorrupt(f"The index at {self.index_dir} cannot be opened: {path.name} is damaged "
                               f"({exc}). {REBUILD_HINT}") from exc
        self._clients[id(collection)] = client
        return collection

    def closer(self, collection) -> Callable[[], None]:
        """The close() of the client that opened `collection`."""
        client = self._clients.pop(id(collection), None)
        return client.close if client is not None else _nothing

    def new_generation(self):
        """A fresh directory with an empty cosine-space collection."""
        name = new_generation_name()
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
        os.replace(tmp, self.manifest_path)
        dir_fd = os.open(self.index_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def generations(self) -> list[str]:
        """The gen-* entries of the index directory."""
        return sorted(path.name for path in self.index_dir.glob("gen-*"))

    def cleanup(self, keep: set[str]) -> None:
        """Remove old or half-written generation directories and temp manifests."""
        for path in self.index_dir.glob("gen-*"):
            if path.name in keep:
                continue
            if path.is_symlink():  # never follow one out of the index directory
                path.unlink(missing_ok=True)
            elif path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
        for path in self.index_dir.glob("manifest.tmp-*"):
            path.unlink(missing_ok=True)


def open_store(config: Config) -> Store:
    """The store a Config names: a Chroma server if a host is set, else the embedded directory."""
    if config.chroma_host:
        return ServerStore(config.chroma_host, config.chroma_port or 8000)
    return EmbeddedStore(config.index_dir)
