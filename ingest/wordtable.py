"""Vectors of everyday English words: the most frequent ones kept per model in the user's cache, the rest on first use.

The soft word match (retriever/wordmatch.py) needs a vector for each topic word of a question. The
document's own words come with the index; a question's other words would each cost an encoder call
(about as much as embedding the question itself). Most of them are everyday words, the whole-word
entries of the model's WordPiece vocabulary (`wordpiece_lexicon`, about 22,000 words): the table answers
for all of them (`table_words`, which is also what "everyday" means to the soft match), but only the
HEAD_WORDS most frequent in English (wordfreq) are encoded by the first ingest and kept in the cache, and
each ingest adds the document's own everyday words. Encoding all 22,000 took most of a first run (about 30 s
on 2 cores); any other word is encoded on its first use and rounded to float16 as the cache's rows are, so
a word has the same vector either way (the encoder's output does not depend on the batch). The words a search
process encodes are shared by its retrievers and added to the cached table (ingest/learned_words.py); ingest and
those additions write the table (ingest/wordtable_write.py) under the lock file beside it (ingest/cachelock.py).

    <cache dir>/word-vectors/<weights_sha256[:16]>.head.npy     float16, one row per cached word
    <cache dir>/word-vectors/<weights_sha256[:16]>.head.txt     the cached words, one a line, in row order
    <cache dir>/word-vectors/<weights_sha256[:16]>.head.sha256  SHA-256 of the .npy, then of the .txt
    <cache dir>/word-vectors/<weights_sha256[:16]>.head.lock    held while the three are read or replaced

The cache dir is $CONSENSUS_CHAT_CACHE, else the per-user cache dir. `consensus-chat ingest` writes the
table when it is missing; a missing, unreadable or damaged table only means words are encoded on demand.
A table of the right shape can still be wrong (NaN or zero rows lower ranking quality without an error),
so a table is used only when its content matches its checksum and every row is a finite, non-zero vector.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path

from .cachelock import locked
from .config import default_cache_dir

log = logging.getLogger(__name__)

HEAD_WORDS = 3_000  # encoded by the first ingest: about 1-3 s on 2 cores, most question words
_LOADED: dict[tuple, tuple[dict[str, int], list[str], dict[int, int], object]] = {}
_LOCK = threading.Lock()
_WARNED: set[tuple] = set()  # damaged tables already reported (ingest looks twice)


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
    """The table file (the head words' vectors) of one model's weights."""
    return cache_dir() / "word-vectors" / f"{weights_sha256[:16]}.head.npy"


def words_path(weights_sha256: str) -> Path:
    """The file listing the head words, in the table's row order."""
    return table_path(weights_sha256).with_suffix(".txt")


def checksum_path(weights_sha256: str) -> Path:
    """The file holding the SHA-256 of a model's table and of its word list."""
    return table_path(weights_sha256).with_suffix(".sha256")


def lock_path(path: Path) -> Path:
    """The lock file of the table file `path` (ingest/cachelock.py)."""
    return path.with_suffix(".lock")


def table_words(lexicon) -> list[str]:
    """Every word the table answers for, sorted."""
    return sorted(w for w in lexicon if len(w) > 1)


def head_words(lexicon, n: int = HEAD_WORDS) -> list[str]:
    """The n table words most frequent in English (wordfreq), sorted: the rows the cache keeps."""
    from wordfreq import get_frequency_dict

    # The frequency dict, not zipf_frequency: that tokenizes each word again (3 s for the 22,000 words).
    frequency = get_frequency_dict("en")
    return sorted(sorted(table_words(lexicon), key=lambda w: (-frequency.get(w, 0.0), w))[:n])


def _check_content(path: Path, words_file: Path, matrix) -> None:
    """Raise ValueError unless the files match their checksums and every row is a finite, non-zero vector."""
    import numpy as np

    from .embedder import sha256_file

    try:
        expected = path.with_suffix(".sha256").read_text(encoding="ascii").split()
    except (OSError, ValueError):
        raise ValueError("its checksum file is missing or unreadable") from None
    if expected != [sha256_file(path), sha256_file(words_file)]:
        raise ValueError("its content does not match its checksum")
    for start in range(0, len(matrix), 4096):  # in blocks, without a float32 copy of the whole table
        block = np.asarray(matrix[start : start + 4096], dtype=np.float32)
        if not np.isfinite(block).all():
            raise ValueError("it holds values that are not finite (NaN or infinity)")
        if not (np.linalg.norm(block, axis=1) > 0.5).all():  # rows are unit vectors
            raise ValueError("it holds rows that are not unit vectors (zeros)")


class EverydayVectors:
    """The table's vectors by row (rows of `table_words`): read from the cached head, else encoded on first
    use, rounded to float16 as the head is, and kept (at most the 22,000 words: 17 MB). Thread-safe.

    `learned` (ingest/learned_words.py), when given, holds the words any retriever of the process encoded: it is
    asked before encoding, and told of each word encoded here, so that the cache keeps it for later processes."""

    def __init__(self, words: list[str], head: dict[int, int], matrix, encode=None, learned=None):
        self._words, self._head, self._matrix, self._encode = words, head, matrix, encode
        self._learned = learned
        self._extra: dict[int, object] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._words)

    def __getitem__(self, rows):
        """The float16 vector of one row, or an (n, dim) float16 array of a list of rows."""
        import numpy as np

        if isinstance(rows, (int, np.integer)):
            return self[[int(rows)]][0]
        rows = [int(r) for r in rows]
        missing = list(dict.fromkeys(r for r in rows if r not in self._head and r not in self._extra))
        if missing and self._learned is not None:
            known = self._learned.get([self._words[r] for r in missing])
            with self._lock:
                self._extra.update((r, v) for r, v in zip(missing, known) if v is not None)
            missing = [r for r, v in zip(missing, known) if v is None]
        if missing:
            if self._encode is None:
                raise KeyError(f"{len(missing)} words are not in the cached table and there is no encoder")
            vectors = np.asarray(self._encode([self._words[r] for r in missing]), dtype=np.float16)
            with self._lock:
                self._extra.update(zip(missing, vectors))
            if self._learned is not None:
                self._learned.add([self._words[r] for r in missing], vectors)
        out = np.empty((len(rows), self._matrix.shape[1]), dtype=np.float16)
        heads = [self._head.get(r) for r in rows]
        cached = [i for i, head in enumerate(heads) if head is not None]
        if cached:  # one gather from the cached head, not a memmap row object per word
            out[cached] = self._matrix[[heads[i] for i in cached]]
        for i, (r, head) in enumerate(zip(rows, heads)):
            if head is None:
                out[i] = self._extra[r]
        return out


def read_head(path: Path, rows, dim: int | None):
    """(the words, the float16 matrix) of the cached table at `path`, checked (ValueError or OSError when it is
    unusable); `rows` holds every table word. Hold its lock (`lock_path`) while calling."""
    import numpy as np

    listed = path.with_suffix(".txt")
    head_list = listed.read_text(encoding="utf-8").split()
    matrix = np.load(path, mmap_mode="r", allow_pickle=False)
    if matrix.ndim != 2 or matrix.shape[0] != len(head_list) or matrix.dtype != np.float16 or \
            (dim is not None and matrix.shape[1] != dim):
        raise ValueError(f"shape {matrix.shape} {matrix.dtype}, expected ({len(head_list)}, {dim}) float16")
    if not set(head_list) <= rows.keys():
        raise ValueError("it lists words that are not in the model's vocabulary")
    _check_content(path, listed, matrix)
    return head_list, matrix


def load_table(weights_sha256: str, lexicon, dim: int | None, encode=None,
               learned=None) -> tuple[dict[str, int], EverydayVectors] | None:
    """({word: row} of every table word, their vectors), or None when there is no usable cached head.

    The head is memory-mapped and shared by every retriever of the process (one file, opened once);
    `encode` (a list of words -> unit vectors) embeds the other words on first use, and `learned` shares
    them (see EverydayVectors).
    """
    path = table_path(weights_sha256)
    # The threading lock first: the one writer that takes the file lock (a flush of learned words) never
    # waits for the threading lock while it holds the file lock.
    with _LOCK, locked(lock_path(path), exclusive=False):
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (str(path), stat.st_mtime_ns, stat.st_size, dim)
        if key not in _LOADED:
            words = table_words(lexicon)
            rows = {w: i for i, w in enumerate(words)}
            try:
                head_list, matrix = read_head(path, rows, dim)
            except (OSError, ValueError) as exc:
                if key not in _WARNED:
                    _WARNED.add(key)
                    log.warning("Ignoring the word-vector cache %s (%s); `consensus-chat ingest` writes it again.",
                                path, exc)
                return None
            _LOADED[key] = (rows, words, {rows[w]: i for i, w in enumerate(head_list)}, matrix)
        rows, words, head, matrix = _LOADED[key]
    return rows, EverydayVectors(words, head, matrix, encode, learned)
