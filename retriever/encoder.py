"""Embed queries without torch: the exported ONNX encoder, run by onnxruntime with `tokenizers`.

`open_query_encoder(config, spec)` returns the encoder the retriever and the answer composers use
(`encode`, `encode_one`, `spec`, `name`, `dim`) and opens it in the background. It is the ONNX
export that ingest wrote (see ingest/query_encoder.py) once that export reproduces
sentence-transformers on the fixed check texts; otherwise, or when an old index has no export and
its directory is read-only, it is the sentence-transformers model itself, with a one-line notice.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ingest.config import Config
from ingest.embedder import ModelSpec, VectorEncoder, load_embedder
from ingest.query_encoder import CHECK_TEXTS, MIN_COSINE, encoder_dir, read_meta

log = logging.getLogger(__name__)


class OnnxQueryEncoder(VectorEncoder):
    """all-MiniLM-style sentence embeddings: transformer (ONNX) → mean pooling → L2 normalisation."""

    def __init__(self, spec: ModelSpec, path: Path, meta: dict):
        from tokenizers import Tokenizer

        from ingest.telemetry import import_onnxruntime

        onnxruntime = import_onnxruntime()

        super().__init__()
        self.spec = spec
        self.path = path
        self.dim = int(meta["dim"])
        self._check_texts = [str(t) for t in meta.get("check_texts", CHECK_TEXTS)]
        self.max_tokens = int(meta["max_tokens"])
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        self._tokenizer.enable_padding(pad_id=int(meta.get("pad_id", 0)), pad_token=meta.get("pad_token", "[PAD]"))
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: its shape-inference notes are not the user's business
        # One request at a time holds the lock (see VectorEncoder), so let it use the cores.
        options.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
        # No spin-waiting after a run: its threads would hold the cores the rest of the search needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(path / "model.onnx"), options,
                                                     providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]

    def _encode(self, texts: list[str], batch_size: int):
        import numpy as np

        encodings = self._tokenizer.encode_batch(texts)  # padded to the longest; trimmed per batch below
        lengths = [sum(e.attention_mask) for e in encodings]
        # Longest first, as sentence-transformers does: each batch pads only to its own longest text.
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = lengths[batch[0]]
            out[batch] = self._run([encodings[i] for i in batch], width)
        return out

    def _run(self, encoded, width: int):
        import numpy as np

        ids = np.array([e.ids[:width] for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask[:width] for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask,
                 "token_type_ids": np.array([e.type_ids[:width] for e in encoded], dtype=np.int64)}
        hidden = self._session.run(None, {name: feeds[name] for name in self._inputs})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def check(self) -> float:
        """The lowest cosine between this encoder and sentence-transformers' saved vectors of the check texts."""
        import numpy as np

        reference = np.load(self.path / "reference.npy")
        if reference.shape != (len(self._check_texts), self.dim):
            return -1.0
        return float(np.min(np.sum(self.encode(self._check_texts) * reference, axis=1)))


class QueryEncoder:
    """What the retriever and the answer composers embed with; the ONNX session opens in the background.

    Creating the onnxruntime session and running the check takes a few hundred milliseconds, mostly
    in C++ without the GIL, so it overlaps with reading the index; the first use waits for it. The
    background thread imports nothing (two threads importing one C extension at once can break it):
    modules are imported, and any fallback to sentence-transformers is loaded, on the calling thread.
    """

    def __init__(self, spec: ModelSpec, path: Path, opening: Future | None, *, export_to: Path | None = None):
        self.spec = spec
        self.path = path
        self._opening = opening
        self._export_to = export_to
        self._impl: VectorEncoder | None = None
        self._lock = threading.Lock()

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
        if self._export_to is not None:
            self._opening, reason = _export_and_open(self.spec, self.path, self._export_to)
        if self._opening is not None:
            try:
                encoder, cosine = self._opening.result()
            except (OSError, ValueError, RuntimeError) as exc:
                # onnxruntime reports a damaged model as its own RuntimeError subclasses (Fail, InvalidGraph).
                reason = (f"the query encoder at {self.path} cannot be used ({_first_line(exc)}); delete that "
                          "folder and run `consensus-chat ingest` to re-export it")
            else:
                if cosine >= MIN_COSINE:
                    return encoder
                reason = (f"the query encoder at {self.path} differs from sentence-transformers (cosine "
                          f"{cosine:.6f} < {MIN_COSINE}); delete that folder and run `consensus-chat ingest` "
                          "to re-export it")
        log.warning("Warning: %s. Embedding queries with sentence-transformers instead.", reason)
        return load_embedder(spec=self.spec)

    @property
    def kind(self) -> str:
        """'onnx' or 'sentence-transformers': which model embeds queries."""
        return "onnx" if isinstance(self.impl, OnnxQueryEncoder) else "sentence-transformers"

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def dim(self) -> int:
        return self.impl.dim

    @property
    def max_tokens(self) -> int:
        return self.impl.max_tokens

    def encode(self, texts: list[str], batch_size: int = 32):
        """An (n, dim) float32 array of unit vectors."""
        return self.impl.encode(texts, batch_size)

    def encode_one(self, text: str):
        """One unit vector (recent queries are cached)."""
        return self.impl.encode_one(text)

    def clear_cache(self) -> None:
        self.impl.clear_cache()


_OPEN: dict[tuple[str, str], QueryEncoder] = {}
_OPEN_LOCK = threading.Lock()
_OPENER: ThreadPoolExecutor | None = None


def open_query_encoder(config: Config, spec: ModelSpec) -> QueryEncoder:
    """The query encoder for an index (once per process and export): ONNX if it checks out, else the model.

    Returns at once; the ONNX session opens in a background thread and the first use waits for it.
    """
    path = encoder_dir(config.index_dir, spec)
    key = (str(path), spec.weights_sha256)
    with _OPEN_LOCK:
        if key not in _OPEN:
            _OPEN[key] = _open(config, spec, path)
        return _OPEN[key]


def _open(config: Config, spec: ModelSpec, path: Path) -> QueryEncoder:
    global _OPENER
    meta = read_meta(path, spec)
    if meta is None:
        # Exported on first use, not here: the retriever first checks that the index matches the model.
        return QueryEncoder(spec, path, None, export_to=Path(config.index_dir))
    _import_runtime()
    if _OPENER is None:
        _OPENER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="query-encoder")
    return QueryEncoder(spec, path, _OPENER.submit(_open_onnx, spec, path, meta))


def _export_and_open(spec: ModelSpec, path: Path, index_dir: Path) -> tuple[Future | None, str | None]:
    """For an index built before exports existed: export once if we may, then open; (opening, fallback reason)."""
    if not _writable(index_dir):
        return None, (f"{index_dir} has no exported query encoder and is read-only; run "
                      "`consensus-chat ingest` once to export it")
    log.warning("Note: exporting the query encoder for this index once (an index built before exports existed).")
    from ingest.query_encoder import export_query_encoder

    try:
        export_query_encoder(spec, index_dir)
    except (ImportError, OSError, RuntimeError) as exc:
        return None, f"could not export the query encoder ({_first_line(exc)})"
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

    from ingest.telemetry import import_onnxruntime

    import_onnxruntime()


def _open_onnx(spec: ModelSpec, path: Path, meta: dict) -> tuple[OnnxQueryEncoder, float]:
    encoder = OnnxQueryEncoder(spec, path, meta)
    return encoder, encoder.check()


def _writable(index_dir: Path) -> bool:
    return index_dir.is_dir() and os.access(index_dir, os.W_OK)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__



