"""The server flavour of the store: generations as collections on a Chroma server (`chroma run`)."""

from __future__ import annotations

import json

from .bigjson import loads
from .errors import IndexCorrupt, StoreUnavailable
from .store_base import REBUILD_HINT, Store, check_manifest, chroma_errors, chroma_settings, new_generation_name

SERVER_PREFIX = "consensus_chat_gen_"
SERVER_MANIFEST = "consensus_chat_manifest"


class ServerStore(Store):
    """Collections on a Chroma server started with `chroma run`."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, int(port)
        self._client_obj = None

    def describe(self) -> str:
        """host:port of the server."""
        return f"chroma://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        """host:port, for messages about reaching the server."""
        return f"{self.host}:{self.port}"

    def connection_errors(self) -> tuple[type[BaseException], ...]:
        """What Chroma's HTTP client raises when the server does not answer (imported late: httpx is heavy)."""
        import httpx

        return (httpx.TransportError,)

    def _unreachable(self, exc: BaseException) -> StoreUnavailable:
        return StoreUnavailable(
            f"Cannot reach the Chroma server at {self.address} ({type(exc).__name__}). "
            f"Start one with `chroma run --path DIR --port {self.port}`, or drop --chroma-host to use the embedded store."
        )

    @property
    def client(self):
        """The HTTP client, connected on first use."""
        if self._client_obj is None:
            import chromadb

            try:
                self._client_obj = chromadb.HttpClient(host=self.host, port=self.port, settings=chroma_settings())
                self._client_obj.heartbeat()
            except Exception as exc:  # noqa: BLE001 - connection errors come in many types
                self._client_obj = None
                raise self._unreachable(exc) from exc
        return self._client_obj

    def _manifest_collection(self):
        return self.client.get_or_create_collection(SERVER_MANIFEST, embedding_function=None)

    def read_manifest(self) -> dict | None:
        """The manifest record, if any."""
        try:
            got = self._manifest_collection().get(ids=["manifest"], include=["documents"])
        except self.connection_errors() as exc:  # the server went away after the first connection
            raise self._unreachable(exc) from exc
        if not got["ids"]:
            return None
        try:
            manifest = loads(got["documents"][0])  # re-read every few seconds: 14 MB at 100,000 sections
        except ValueError as err:
            raise IndexCorrupt(f"The manifest on {self.describe()} is damaged. {REBUILD_HINT}") from err
        manifest = check_manifest(manifest, f"The manifest on {self.describe()}")
        if not manifest["generation"].startswith(SERVER_PREFIX):
            raise IndexCorrupt(f"The manifest on {self.describe()} is damaged (its generation "
                               f"{manifest['generation']!r} is not one of ours). {REBUILD_HINT}")
        return manifest

    def new_generation(self):
        """A new cosine-space collection."""
        name = SERVER_PREFIX + new_generation_name().replace("-", "_")
        collection = self.client.create_collection(
            name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        return name, collection

    def open_generation(self, name: str):
        """Get a generation's collection."""
        client = self.client
        try:
            return client.get_collection(name, embedding_function=None)
        except self.connection_errors() as exc:
            raise self._unreachable(exc) from exc
        except (*chroma_errors(), ValueError) as err:  # chroma raises NotFoundError or ValueError by version
            raise IndexCorrupt(f"{self.describe()} has no collection {name}. {REBUILD_HINT}") from err

    def publish(self, manifest: dict) -> None:
        """Upsert the manifest record: one atomic write on the server."""
        # Chroma requires an embedding per record; the manifest's is a placeholder.
        self._manifest_collection().upsert(
            ids=["manifest"], documents=[json.dumps(manifest, ensure_ascii=False)], embeddings=[[0.0]]
        )

    def generations(self) -> list[str]:
        """The generation collections on the server."""
        names = (getattr(col, "name", col) for col in self.client.list_collections())
        return sorted(name for name in names if name.startswith(SERVER_PREFIX))

    def cleanup(self, keep: set[str]) -> None:
        """Delete generation collections not in keep."""
        for name in self.generations():
            if name not in keep:
                self.client.delete_collection(name)
