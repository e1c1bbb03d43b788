"""Vectors of everyday English words, computed once per model and kept in the user's cache.

The soft word match (retriever/wordmatch.py) needs a vector for each topic word of a question. The
document's own words come with the index; a question's other words would each cost an encoder call
(about as much as embedding the question itself). Most of them are everyday words, and those are the
whole-word entries of the model's WordPiece vocabulary (`wordpiece_lexicon`, about 22,000 words):
encoding them once per model (about 8 s on 2 cores) turns those calls into table look-ups.

    <cache dir>/word-vectors/<weights_sha256[:16]>.npy    float16, one row per word of `table_words`
    <cache dir>/word-vectors/<weights_sha256[:16]>.sha256 the SHA-256 of the .npy file, written after it

The cache dir is $CONSENSUS_CHAT_CACHE, else the per-user cache dir. `consensus-chat ingest` writes the
table when it is missing; a missing, unreadable or damaged table only means words are encoded on demand.
A table of the right shape can still be wrong (NaN or zero rows lower ranking quality without an error),
so a table is used only when its content matches its checksum and every row is a finite, non-zero vector.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

from .config import default_cache_dir

log = logging.getLogger(__name__)

_LOADED: dict[tuple[str, int, int], tuple[dict[str, int], object]] = {}
_LOCK = threading.Lock()
_WARNED: set[tuple[str, int, int]] = set()  # damaged tables already reported (ingest looks twice)


@lru_cache(maxsize=4)
def wordpiece_lexicon(model_dir: str) -> frozenset[str]:
    """Whole words of the model's WordPiece vocabulary: everyday English words and common names."""
    path = Path(model_dir) / "vocab.txt"
    try:
        lines = path.read_text(encoding="utf-8").split()
    except OSError as exc:
        # Not fatal (search works without it), but every question then loses its everyday-word handling.
        log.warning("Cannot read the model's vocabulary %s (%s); questions are analysed without the everyday-word "
                    "list, which lowers ranking quality. Reinstall the model to restore it.", path, exc)
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and w.islower())


def cache_dir() -> Path:
    """Where per-model caches live: $CONSENSUS_CHAT_CACHE, else the user's cache directory."""
    return default_cache_dir()


def table_path(weights_sha256: str) -> Path:
    """The table file of one model's weights."""
    return cache_dir() / "word-vectors" / f"{weights_sha256[:16]}.npy"


def checksum_path(weights_sha256: str) -> Path:
    """The file holding the SHA-256 of a model's table."""
    return table_path(weights_sha256).with_suffix(".sha256")


def _check_content(path: Path, matrix) -> None:
    """Raise ValueError unless the file matches its checksum and every row is a finite, non-zero vector."""
    import numpy as np

    from .embedder import sha256_file

    try:
        expected = path.with_suffix(".sha256").read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        raise ValueError("its checksum file is missing or unreadable") from None
    if sha256_file(path) != expected:
        raise ValueError("its content does not match its checksum")
    for start in range(0, len(matrix), 4096):  # in blocks: a float32 copy of the whole table is 34 MB
        block = np.asarray(matrix[start : start + 4096], dtype=np.float32)
        if not np.isfinite(block).all():
            raise ValueError("it holds values that are not finite (NaN or infinity)")
        if not (np.linalg.norm(block, axis=1) > 0.5).all():  # rows are unit vectors
            raise ValueError("it holds rows that are not unit vectors (zeros)")


def table_words(lexicon) -> list[str]:
    """The table's words, in row order."""
    return sorted(w for w in lexicon if len(w) > 1)


def load_table(weights_sha256: str, lexicon, dim: int | None) -> tuple[dict[str, int], object] | None:
    """({word: row}, read-only float16 matrix) for this model, or None when there is no usable table.

    Memory-mapped and shared by every retriever of the process (one file, opened once).
    """
    import numpy as np

    path = table_path(weights_sha256)
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        words = table_words(lexicon)
        try:
            matrix = np.load(path, mmap_mode="r", allow_pickle=False)
            if matrix.ndim != 2 or matrix.shape[0] != len(words) or matrix.dtype != np.float16 or \
                    (dim is not None and matrix.shape[1] != dim):
                raise ValueError(f"shape {matrix.shape} {matrix.dtype}, expected ({len(words)}, {dim}) float16")
            _check_content(path, matrix)
        except (OSError, ValueError) as exc:
            if key in _WARNED:
                return None
            _WARNED.add(key)
            log.warning("Ignoring the word-vector cache %s (%s); `consensus-chat ingest` writes it again.", path, exc)
            return None
        _LOADED[key] = ({w: i for i, w in enumerate(words)}, matrix)
        return _LOADED[key]


def ensure_table(weights_sha256: str, lexicon, encode, progress=None) -> Path | None:
    """Write this model's table unless a usable one exists; None when the cache cannot be written.

    `encode` takes a list of words and returns their unit vectors; `progress(n)` is told of each batch.
    """
    import numpy as np

    path = table_path(weights_sha256)
    words = table_words(lexicon)
    if not words or load_table(weights_sha256, lexicon, None) is not None:
        return path if words else None
    tmp = path.with_name(f"{path.stem}.tmp-{os.getpid()}.npy")
    try:
        probe = encode(words[:1])
        path.parent.mkdir(parents=True, exist_ok=True)
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(len(words), probe.shape[1]))
        for start in range(0, len(words), 512):
            batch = words[start : start + 512]
            out[start : start + len(batch)] = encode(batch)
            if progress is not None:
                progress(len(batch))
        out.flush()
        del out
        from .embedder import sha256_file

        # The table first, then its checksum: a crash in between leaves a mismatch, which means "rebuild".
        digest = sha256_file(tmp)
        os.replace(tmp, path)
        checksum_path(weights_sha256).write_text(digest + "\n", encoding="ascii")
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        log.warning("Cannot write the word-vector cache %s (%s); question words will be encoded on demand. "
                    "Set CONSENSUS_CHAT_CACHE to a writable directory to keep it.", path, exc)
        return None
    return path
