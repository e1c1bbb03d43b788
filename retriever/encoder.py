"""Embed queries without torch: the exported ONNX encoder, run by onnxruntime with `tokenizers`.

`open_query_encoder(config, spec)` returns the encoder the retriever and the answer composers use
(`encode`, `encode_one`, `spec`, `name`, `dim`) and opens it in the background. It is the model's ONNX
export in the per-model cache (see ingest/query_encoder.py), or the copy an index built before that
cache kept, once the export reproduces sentence-transformers on the fixed check texts; otherwise, or
when there is no export and the cache cannot be written, it is the sentence-transformers model
itself, with a one-line notice.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from consensus_chat.ingest.config import Config
from consensus_chat.ingest.embedder import ModelSpec, VectorEncoder, load_embedder
from consensus_chat.ingest.errors import first_line
from consensus_chat.ingest.onnx_encoder import MIN_COSINE, OnnxQueryEncoder
from consensus_chat.ingest.query_encoder import encoder_dir, legacy_encoder_dir, read_meta

__all__ = ["OnnxQueryEncoder", "QueryEncoder", "open_query_encoder"]

log = logging.getLogger(__name__)


class QueryEncoder:
    """What the retriever and the answer composers embed with; the ONNX session opens in the background.

    Creating the onnxruntime session and running the check takes a few hundred milliseconds, mostly
    in C++ without the GIL, so it overlaps with reading the index; the first use waits for it. The
    background thread imports nothing (two threads importing one C extension at once can break it):
    modules are imported, and any fallback to sentence-transformers is loaded, on the calling thread.
    """

    def __init__(self, spec: ModelSpec, path: Path, opening: Future | None, *, export: bool = False):
        self.spec = spec
        self.name = spec.name
        self.path = path
        self._opening = opening
        self._export = export
        self._lock = threading.Lock()
        self._impl: VectorEncoder | None = None

    @property
    def impl(self) -> VectorEncoder:
        """The encoder in use: the checked OnnxQueryEncoder, else the sentence-transformers Embedder."""
        if self._impl is None:
            with self._lock:
                if self._impl is None:
                    self._impl = self._resolve()
        return self._impl

    def _resolve(self) -> VectorEncoder:
        reason = None
        if self._export:
            self._opening, reason = _export_and_open(self.spec, self.path)
        if self._opening is not None:
            try:
                encoder, cosine = self._opening.result()
            except (OSError, ValueError, RuntimeError) as exc:
                # onnxruntime reports a damaged model as its own RuntimeError subclasses (Fail, InvalidGraph).
                reason = (f"the query encoder at {self.path} cannot be used ({first_line(exc)}); delete that "
                          "folder and run `consensus-chat ingest` to export it again")
            else:
                if cosine >= MIN_COSINE:
                    return encoder
                reason = (f"the query encoder at {self.path} differs from sentence-transformers (cosine "
                          f"{cosine:.6f} < {MIN_COSINE}); delete that folder and run `consensus-chat ingest` "
                          "to export it again")
        log.warning("Warning: %s. Embedding queries with sentence-transformers instead.", reason)
        return load_embedder(spec=self.spec)

    @property
    def kind(self) -> str:
        """'onnx' or 'sentence-transformers': which model embeds queries."""
        return "onnx" if isinstance(self.impl, OnnxQueryEncoder) else "sentence-transformers"

    @property
    def dim(self) -> int:
        return self.impl.dim

    def encode(self, texts: list[str], batch_size: int = 32):
        """An (n, dim) float32 array of unit vectors."""
        return self.impl.encode(texts, batch_size)

    def encode_one(self, text: str):
        """One unit vector (recent queries are cached)."""
        return self.impl.encode_one(text)

    @property
    def max_tokens(self) -> int:
        return self.impl.max_tokens

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for this text (for chunking)."""
        return self.impl.count_tokens(text)

    def clear_cache(self) -> None:
        self.impl.clear_cache()


_OPEN: dict[tuple[str, str], QueryEncoder] = {}
_OPEN_LOCK = threading.Lock()
_OPENER: ThreadPoolExecutor | None = None


def open_query_encoder(config: Config, spec: ModelSpec) -> QueryEncoder:
    """The query encoder for an index (once per process and export): ONNX if it checks out, else the model.

    Returns at once; the ONNX session opens in a background thread and the first use waits for it.
    """
    path = _export_path(config, spec)
    key = (str(path), spec.weights_sha256)
    with _OPEN_LOCK:
        if key not in _OPEN:
            _OPEN[key] = _open(spec, path)
        return _OPEN[key]


def _export_path(config: Config, spec: ModelSpec) -> Path:
    """The per-model cache's export; else the copy an index built before the cache kept; else the cache
    (where the first use exports it)."""
    cached = encoder_dir(spec)
    if read_meta(cached, spec) is None and read_meta(legacy_encoder_dir(config.index_dir, spec), spec) is not None:
        return legacy_encoder_dir(config.index_dir, spec)
    return cached


def _open(spec: ModelSpec, path: Path) -> QueryEncoder:
    global _OPENER
    meta = read_meta(path, spec)
    if meta is None:
        # Exported on first use, not here: the retriever first checks that the index matches the model.
        return QueryEncoder(spec, path, None, export=True)
    _import_runtime()
    if _OPENER is None:
        _OPENER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="query-encoder")
    return QueryEncoder(spec, path, _OPENER.submit(_open_onnx, spec, path, meta))


def _export_and_open(spec: ModelSpec, path: Path) -> tuple[Future | None, str | None]:
    """When the cache has no export (a new cache, or one that was cleared): export once if we may, then open;
    (opening, fallback reason)."""
    if not _writable(path.parent):
        return None, (f"there is no exported query encoder in {path.parent} and it cannot be written; set "
                      "CONSENSUS_CHAT_CACHE to a writable directory and run `consensus-chat ingest` once")
    log.warning("Note: exporting the query encoder for this model once (the per-model cache %s has none).", path.parent)
    from consensus_chat.ingest.query_encoder import export_query_encoder

    try:
        export_query_encoder(spec)
    except (ImportError, OSError, RuntimeError) as exc:
        return None, f"could not export the query encoder ({first_line(exc)})"
    meta = read_meta(path, spec)
    if meta is None:
        return None, f"the query encoder export at {path} is incomplete"
    _import_runtime()
    opening: Future = Future()
    try:
        opening.set_result(_open_onnx(spec, path, meta))
    except (OSError, ValueError, RuntimeError) as exc:
        opening.set_exception(exc)
    return opening, None


def _import_runtime() -> None:
    # On the calling thread: the opener thread must not import (see QueryEncoder).
    import numpy  # noqa: F401
    import tokenizers  # noqa: F401

    from consensus_chat.ingest.telemetry import import_onnxruntime

    import_onnxruntime()


def _open_onnx(spec: ModelSpec, path: Path, meta: dict) -> tuple[OnnxQueryEncoder, float]:
    encoder = OnnxQueryEncoder(spec, path, meta)
    return encoder, encoder.check()


def _writable(folder: Path) -> bool:
    """Whether `folder` can be created or written (its nearest existing ancestor is writable)."""
    for path in (folder, *folder.parents):
        if path.exists():
            return path.is_dir() and os.access(path, os.W_OK)
    return False
