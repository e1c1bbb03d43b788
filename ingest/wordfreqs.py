"""General-English frequencies (wordfreq's Zipf scale) of the words ingest has seen, kept in the user's cache.

Scope and ranking read how common each question word is (retriever/evidence.py). Importing wordfreq and
loading its English list took 0.3-0.7 s of every cold `ask`, a third of it on a busy machine, although most
question words are the document's own or everyday words. Ingest writes their values, computed by wordfreq
itself, so a question made of such words needs no wordfreq; any other word is looked up in wordfreq as before.

    <cache dir>/word-zipf.json   {"wordfreq": its version, "zipf": {word: zipf_frequency(word, "en")}}

Values are only trusted for the installed wordfreq version; a missing, damaged or older file means wordfreq.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from .config import default_cache_dir

_FILE = "word-zipf.json"
_CACHED: dict[str, tuple[int, dict[str, float]]] = {}  # path -> (mtime_ns, values), per process


def _path() -> Path:
    # Memoised on what default_cache_dir reads (a search asks once per new word): the same path, no platformdirs call.
    key = (os.environ.get("CONSENSUS_CHAT_CACHE"), os.environ.get("XDG_CACHE_HOME"), os.environ.get("HOME"))
    path = _PATHS.get(key)
    if path is None:
        path = _PATHS[key] = default_cache_dir() / _FILE
    return path


_PATHS: dict[tuple, Path] = {}


def _version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wordfreq")
    except PackageNotFoundError:
        return None


def _read(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("wordfreq") != _version() or not isinstance(data.get("zipf"), dict):
        return {}
    return {w: v for w, v in data["zipf"].items() if isinstance(v, (int, float))}


def cached_zipf() -> dict[str, float]:
    """{word: Zipf frequency} of the words ingest has seen (empty when there is no usable file); read once per
    change of the file."""
    path = _path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    known = _CACHED.get(str(path))
    if known is None or known[0] != stamp:
        known = _CACHED[str(path)] = (stamp, _read(path))
    return known[1]


def remember(words) -> None:
    """Add the Zipf frequencies of `words` that the file lacks (imports wordfreq only then); an unwritable
    cache only means wordfreq is asked at search time."""
    path = _path()
    known = _read(path)
    missing = sorted({w for w in words if w not in known})
    if not missing:
        return
    from wordfreq import zipf_frequency

    known.update((w, zipf_frequency(w, "en")) for w in missing)
    tmp = path.with_name(f"{_FILE}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"wordfreq": _version(), "zipf": known}, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
