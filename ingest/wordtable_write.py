"""Write the per-model table of everyday word vectors (ingest/wordtable.py): its head, a document's words, and the
words searches encoded on first use, each merged into the table in one locked replace.

Encoding happens before the lock is taken; under it (ingest/cachelock.py) the table is read again, the new rows
appended after the ones it holds (another process may have added some meanwhile) and the three files replaced,
so two processes adding words at once both keep theirs, and no reader sees the files half-replaced.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from .cachelock import locked
from .wordtable import head_words, load_table, lock_path, read_head, table_path, table_words, words_path

log = logging.getLogger(__name__)

_BATCH = 512  # words per encoder call


def ensure_table(weights_sha256: str, lexicon, encode, progress=None, extra=()) -> list[str] | None:
    """Write this model's table of head words (and the everyday words among `extra`) unless a usable one
    exists; the words it holds, or None when the cache cannot be written. `encode` takes a list of words
    and returns their unit vectors; `progress(n)` is told of each batch."""
    if not table_words(lexicon):
        return None
    if load_table(weights_sha256, lexicon, None) is not None:
        return words_path(weights_sha256).read_text(encoding="utf-8").split()
    head = head_words(lexicon)
    everyday, chosen = set(table_words(lexicon)), set(head)
    new = head + sorted({w for w in extra if w in everyday} - chosen)
    return _encode_and_merge(table_path(weights_sha256), lexicon, new, encode, progress, need_table=False)


def add_words(weights_sha256: str, lexicon, words, encode) -> list[str] | None:
    """Add the everyday words among `words` that the cached table lacks (a document's, so the next ingest of
    it encodes none of them again); the words the table then holds, or None without a usable table."""
    loaded = load_table(weights_sha256, lexicon, None)
    if loaded is None:
        return None
    held = words_path(weights_sha256).read_text(encoding="utf-8").split()
    have = set(held)
    new = sorted({w for w in words if w in loaded[0] and w not in have})
    if not new:
        return held
    return _encode_and_merge(table_path(weights_sha256), lexicon, new, encode, None, need_table=True)


def keep_words(path: Path, lexicon, words: list[str], vectors) -> list[str] | None:
    """Add words already encoded (float16 rows, as a search encoded them on first use) to the table at `path`;
    the words it then holds, or None when there is no usable table there (only ingest builds one), the lock
    cannot be held or the files cannot be written."""
    return _merge(path, lexicon, words, vectors, need_table=True, quiet=True)


def _encode_and_merge(path: Path, lexicon, new: list[str], encode, progress, *, need_table: bool):
    import numpy as np

    parts = []
    for start in range(0, len(new), _BATCH):
        batch = new[start : start + _BATCH]
        parts.append(np.asarray(encode(batch), dtype=np.float16))  # rounded as every row of the table
        if progress is not None:
            progress(len(batch))
    return _merge(path, lexicon, new, np.concatenate(parts), need_table=need_table)


def _merge(path: Path, lexicon, new: list[str], vectors, *, need_table: bool, quiet: bool = False):
    """Under the table's lock: the usable table at `path` (else nothing, unless `need_table`) with the rows of
    the words of `new` it lacks appended, written in one replace; the words it then holds, or None.

    `quiet` (words a search learned): no write without the lock, and a failure is only logged for debugging."""
    import numpy as np

    listed = path.with_suffix(".txt")
    tmp = path.with_name(f"{path.stem}.tmp-{os.getpid()}.npy")
    tmp_words = listed.with_name(f"{listed.stem}.tmp-{os.getpid()}.txt")
    tmp_sums = path.with_name(f"{path.stem}.tmp-{os.getpid()}.sha256")
    rows = {w: i for i, w in enumerate(table_words(lexicon))}
    try:
        if not need_table:  # a new cache; never re-create the folder of one that was removed
            path.parent.mkdir(parents=True, exist_ok=True)
        with locked(lock_path(path), exclusive=True) as held:
            if quiet and not held:  # without it, two processes adding at once could lose each other's rows
                return None
            try:
                words, matrix = read_head(path, rows, vectors.shape[1])
            except (OSError, ValueError):  # missing or damaged: only ingest starts a table afresh
                if need_table:
                    return None
                words, matrix = [], np.zeros((0, vectors.shape[1]), dtype=np.float16)
            have = set(words)
            keep = [i for i, w in enumerate(new) if w not in have and w in rows]
            if not keep:
                return words
            words = words + [new[i] for i in keep]
            with open(tmp, "wb") as f:
                np.save(f, np.concatenate([matrix, vectors[keep]]), allow_pickle=False)
            tmp_words.write_text("\n".join(words) + "\n", encoding="utf-8")
            from .embedder import sha256_file

            tmp_sums.write_text(f"{sha256_file(tmp)}\n{sha256_file(tmp_words)}\n", encoding="ascii")
            # The files first, then their checksums: a crash in between leaves a mismatch, which means "rebuild".
            os.replace(tmp_words, listed)
            os.replace(tmp, path)
            os.replace(tmp_sums, path.with_suffix(".sha256"))
    except OSError as exc:
        for leftover in (tmp, tmp_words, tmp_sums):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
        (log.debug if quiet else log.warning)(
            "Cannot write the word-vector cache %s (%s); question words will be encoded on demand. "
            "Set CONSENSUS_CHAT_CACHE to a writable directory to keep it.", path, exc)
        return None
    return words

